/**
 * Where a replicated registry keeps things in etcd, under its prefix P
 * (docs/storage.md, etcd):
 * - `P/id`: the registry id; `P/rev`: the registry's revision;
 * - `P/log`: the last committed batch of entries; every commit is conditional on
 *   its mod revision, so the cluster's commits form one sequence, and replicas
 *   follow it by watching this one key;
 * - `P/h/<revision>`: the changes of each batch, the watch history a starting
 *   replica loads (trimmed to `watch.history`);
 * - `P/g/<group>`, `P/i/<group>/<identifier>`, `P/r/<group>/<identifier>/<sequence>`:
 *   the state a starting replica loads: groups, identifiers, reports.
 * Names are folded and percent-encoded, so `/` in a name never splits a key.
 */
const pad = (n: number, width: number) => String(n).padStart(width, "0");
const enc = encodeURIComponent;

export class Keys {
  readonly id: string;
  readonly rev: string;
  readonly log: string;
  readonly history: string;
  readonly groups: string;
  readonly identifiers: string;
  readonly reports: string;

  constructor(readonly prefix: string) {
    this.id = `${prefix}id`;
    this.rev = `${prefix}rev`;
    this.log = `${prefix}log`;
    this.history = `${prefix}h/`;
    this.groups = `${prefix}g/`;
    this.identifiers = `${prefix}i/`;
    this.reports = `${prefix}r/`;
  }

  historyAt(revision: number): string {
    return this.history + pad(revision, 16);
  }

  group(groupKey: string): string {
    return this.groups + enc(groupKey);
  }

  /** Every identifier of a group (a prefix). */
  identifiersOf(groupKey: string): string {
    return `${this.identifiers}${enc(groupKey)}/`;
  }

  identifier(groupKey: string, identifierKey: string): string {
    return this.identifiersOf(groupKey) + enc(identifierKey);
  }

  /** Every report of a group (a prefix). */
  reportsOfGroup(groupKey: string): string {
    return `${this.reports}${enc(groupKey)}/`;
  }

  /** Every report of an identifier (a prefix). */
  reportsOf(groupKey: string, identifierKey: string): string {
    return `${this.reportsOfGroup(groupKey)}${enc(identifierKey)}/`;
  }

  report(groupKey: string, identifierKey: string, sequence: number): string {
    return this.reportsOf(groupKey, identifierKey) + pad(sequence, 10);
  }

  /** The folded names of an identifier's or a report's key (`P/i/g/i`, `P/r/g/i/seq`). */
  static split(rest: string): string[] {
    return rest.split("/").map((part) => decodeURIComponent(part));
  }
}

/** The end of the range of keys starting with `prefix` (etcd's range_end). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}
