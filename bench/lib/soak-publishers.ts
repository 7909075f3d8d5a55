/**
 * Publisher tasks for bench/soak.ts, run in agents on the load core: one
 * process hosts many publishers, each the TS client's `sr.publish` (a lease
 * refreshed every third of its ttl), over one connection. Besides refreshing,
 * the process changes its identifiers' details (and status, 1 or 2: always
 * ready) at a steady rate, each write with the ttl, so the watchers have
 * changes to follow. A publisher whose lease is lost (its refreshes starved
 * for a ttl) publishes again, as the client's README advises, and the loss is
 * counted. The benchmark ends some of these processes with SIGKILL: their
 * leases then run out on the server.
 */
import { type Publisher, SrClient, SrError } from "../../clients/ts/index.js";
import { now, sleep } from "./stats.js";

let sr: SrClient | undefined;
let publishers: Publisher[] = [];
let targets: [string, string][] = [];
let ttlMs = 0;
let churning = false;
let churnDone: Promise<void> = Promise.resolve();
/** `lost` counts every loss; `lostWhilePublishing` those before the changes began. */
const counts = { changes: 0, errors: 0, lost: 0, lostWhilePublishing: 0 };
/** Why leases were lost: the SrError's reason (or code), or the error's message. */
const reasons: Record<string, number> = {};

/** Publishes every [group, identifier] of `targets` with a lease of `ttlMs`; resolves once all are set. */
async function start(p: { address: string; targets: [string, string][]; ttlMs: number }): Promise<{ publishMs: number }> {
  const started = now();
  sr = new SrClient(p.address, { channelOptions: { "grpc.use_local_subchannel_pool": 1 } });
  targets = p.targets;
  ttlMs = p.ttlMs;
  publishers = await Promise.all(targets.map((_, i) => publishOne(i)));
  return { publishMs: now() - started };
}

/** Publishes target i, and again whenever its lease is lost. */
function publishOne(i: number): Promise<Publisher> {
  const [group, identifier] = targets[i] as [string, string];
  const again = (error: Error) => {
    counts.lost++;
    const why = error instanceof SrError ? (error.reason ?? `code ${error.code}`) : error.message;
    reasons[why] = (reasons[why] ?? 0) + 1;
    publishOne(i).then(
      (publisher) => void (publishers[i] = publisher),
      () => void counts.errors++,
    );
  };
  return (sr as SrClient).publish({ group, identifier, status: 2, details: "up", ttlMs }, { onLost: again });
}

/** Starts changing the identifiers in turn, `perS` changes a second, each awaited; returns at once. */
async function churn(p: { perS: number }): Promise<void> {
  const client = sr as SrClient;
  churning = true;
  counts.lostWhilePublishing = counts.lost;
  const interval = 1000 / p.perS;
  const ttl = { seconds: BigInt(Math.floor(ttlMs / 1000)), nanos: (ttlMs % 1000) * 1e6 };
  churnDone = (async () => {
    let next = now();
    for (let n = 0; churning; n++) {
      const [group, identifier] = targets[n % targets.length] as [string, string];
      const round = Math.floor(n / targets.length);
      try {
        await client.setStatus({ group, identifier, status: round % 2 ? 1 : 2, details: `tick ${round}`, ttl }, { timeoutMs: 10_000 });
        counts.changes++;
      } catch {
        counts.errors++;
      }
      next += interval;
      await sleep(Math.max(0, next - now()));
    }
  })();
}

/** Stops the changes (the leases stay refreshed); resolves once the last one is answered. */
async function quiet(): Promise<typeof counts & { reasons: Record<string, number> }> {
  churning = false;
  await churnDone;
  return { ...counts, reasons: { ...reasons } };
}

async function stats(): Promise<typeof counts & { reasons: Record<string, number>; active: number }> {
  return { ...counts, reasons: { ...reasons }, active: publishers.filter((x) => x.state === "active").length };
}

export const tasks = { start, churn, quiet, stats };
