/**
 * A strict parser of Prometheus's text exposition format (0.0.4), for the
 * /metrics tests: it fails on anything a Prometheus server would refuse or
 * that the format forbids, rather than guessing. No maintained npm parser
 * fits (parse-prometheus-text-format has had no release since 2019).
 *
 * Checked: metric and label names; `# HELP` and `# TYPE` (known types, at
 * most once per family, TYPE before the family's first sample); a family's
 * samples in one block; label values with their escapes (\\, \", \n)
 * and nothing else escaped; values as Go's ParseFloat reads them (NaN, +Inf,
 * -Inf in any case); an optional integer timestamp; no series twice;
 * histograms with cumulative buckets ending at le="+Inf" equal to _count,
 * and a _sum; counters never negative.
 */
export type MetricType = "counter" | "gauge" | "histogram" | "summary" | "untyped";

export interface Sample {
  /** The sample's own name: `x_bucket`, `x_sum`, ... for a histogram `x`. */
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: MetricType;
  help: string | undefined;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set<MetricType>(["counter", "gauge", "histogram", "summary", "untyped"]);

class ParseError extends Error {
  constructor(line: number, text: string, why: string) {
    super(`line ${line}: ${why}: ${JSON.stringify(text)}`);
  }
}

function parseValue(text: string): number | undefined {
  const lower = text.toLowerCase();
  if (lower === "nan") return Number.NaN;
  if (lower === "+inf" || lower === "inf") return Number.POSITIVE_INFINITY;
  if (lower === "-inf") return Number.NEGATIVE_INFINITY;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return undefined;
  return Number(text);
}

/** `{a="x",b="y"}` from position `at` (the `{`); returns the labels and the position after `}`. */
function parseLabels(line: string, at: number, fail: (why: string) => never): [Record<string, string>, number] {
  const labels: Record<string, string> = {};
  let i = at + 1;
  for (;;) {
    if (line[i] === "}") return [labels, i + 1];
    const eq = line.indexOf("=", i);
    if (eq < 0) fail("a label without '='");
    const name = line.slice(i, eq);
    if (!LABEL_NAME.test(name)) fail(`label name '${name}' is not valid`);
    if (Object.hasOwn(labels, name)) fail(`label '${name}' twice`);
    if (line[eq + 1] !== '"') fail(`label '${name}' has no quoted value`);
    let value = "";
    let j = eq + 2;
    for (;;) {
      const c = line[j];
      if (c === undefined) fail(`label '${name}' has an unterminated value`);
      if (c === '"') break;
      if (c === "\\") {
        const next = line[j + 1];
        if (next === "\\") value += "\\";
        else if (next === '"') value += '"';
        else if (next === "n") value += "\n";
        else fail(`label '${name}' has an invalid escape '\\${next ?? ""}'`);
        j += 2;
        continue;
      }
      value += c;
      j++;
    }
    labels[name] = value;
    i = j + 1;
    if (line[i] === ",") i++;
    else if (line[i] !== "}") fail(`expected ',' or '}' after label '${name}'`);
  }
}

/** The family a sample belongs to: `x` for `x_bucket`, `x_sum`, `x_count` of a declared histogram or summary `x`. */
function familyOf(name: string, types: Map<string, MetricType>): string {
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      const type = types.get(base);
      if (type === "histogram" || (type === "summary" && suffix !== "_bucket")) return base;
    }
  }
  return name;
}

function checkHistogram(family: Family): void {
  const series = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>();
  for (const s of family.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const entry = series.get(key) ?? { buckets: [] };
    series.set(key, entry);
    if (s.name === `${family.name}_bucket`) {
      if (le === undefined) throw new Error(`${family.name}: a bucket without le`);
      const bound = parseValue(le);
      if (bound === undefined) throw new Error(`${family.name}: le="${le}" is not a number`);
      entry.buckets.push([bound, s.value]);
    } else if (s.name === `${family.name}_sum`) entry.sum = s.value;
    else if (s.name === `${family.name}_count`) entry.count = s.value;
    else throw new Error(`${family.name}: sample ${s.name} does not belong to a histogram`);
  }
  for (const [key, { buckets, sum, count }] of series) {
    const where = `${family.name}${key}`;
    if (buckets.length === 0 || sum === undefined || count === undefined) throw new Error(`${where}: needs buckets, _sum and _count`);
    const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
    if (sorted.at(-1)?.[0] !== Number.POSITIVE_INFINITY) throw new Error(`${where}: no le="+Inf" bucket`);
    sorted.forEach(([, v], i) => {
      if (i > 0 && v < (sorted[i - 1] as [number, number])[1]) throw new Error(`${where}: buckets are not cumulative`);
    });
    if (sorted.at(-1)?.[1] !== count) throw new Error(`${where}: le="+Inf" (${sorted.at(-1)?.[1]}) differs from _count (${count})`);
  }
}

/** Parses a whole exposition; throws on the first violation, naming the line. */
export function parsePrometheus(text: string): Map<string, Family> {
  if (text.length > 0 && !text.endsWith("\n")) throw new Error("the exposition must end with a newline");
  const families = new Map<string, Family>();
  const types = new Map<string, MetricType>();
  const closed = new Set<string>();
  const seen = new Set<string>();
  let current: string | undefined;
  const family = (name: string): Family => {
    let f = families.get(name);
    if (!f) {
      f = { name, type: types.get(name) ?? "untyped", help: undefined, samples: [] };
      families.set(name, f);
    }
    return f;
  };
  const enter = (name: string, fail: (why: string) => never) => {
    if (current === name) return;
    if (closed.has(name)) fail(`family ${name} continues after another family began`);
    if (current !== undefined) closed.add(current);
    current = name;
  };
  text.split("\n").forEach((line, index) => {
    const fail = (why: string): never => {
      throw new ParseError(index + 1, line, why);
    };
    if (line.trim() === "") return;
    if (line.startsWith("#")) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
      if (!m) return; // a comment
      const [, keyword, name = "", rest = ""] = m;
      if (!METRIC_NAME.test(name)) fail(`metric name '${name}' is not valid`);
      enter(name, fail);
      const f = family(name);
      if (keyword === "HELP") {
        if (f.help !== undefined) fail(`second HELP for ${name}`);
        if (/\\[^\\n]/.test(rest.replace(/\\\\/g, ""))) fail("HELP may escape only \\\\ and \\n");
        f.help = rest.replace(/\\n/g, "\n").replace(/\\\\/g, "\\");
      } else {
        if (types.has(name)) fail(`second TYPE for ${name}`);
        if (f.samples.length > 0) fail(`TYPE for ${name} after its samples`);
        if (!TYPES.has(rest as MetricType)) fail(`unknown type '${rest}'`);
        types.set(name, rest as MetricType);
        f.type = rest as MetricType;
      }
      return;
    }
    const nameEnd = line.search(/[{ ]/);
    if (nameEnd <= 0) fail("a sample needs a name and a value");
    const name = line.slice(0, nameEnd);
    if (!METRIC_NAME.test(name)) fail(`metric name '${name}' is not valid`);
    let labels: Record<string, string> = {};
    let rest = nameEnd;
    if (line[nameEnd] === "{") [labels, rest] = parseLabels(line, nameEnd, fail);
    const fields = line.slice(rest).trim().split(/\s+/);
    if (line[rest] !== " " || fields.length < 1 || fields.length > 2) fail("expected ' VALUE [TIMESTAMP]'");
    const value = parseValue(fields[0] as string);
    if (value === undefined) fail(`'${fields[0]}' is not a value`);
    if (fields[1] !== undefined && !/^-?\d+$/.test(fields[1])) fail(`'${fields[1]}' is not a timestamp`);
    const owner = familyOf(name, types);
    enter(owner, fail);
    const f = family(owner);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) fail(`series ${name}${JSON.stringify(labels)} twice`);
    seen.add(key);
    if (f.type === "counter" && (value as number) < 0) fail("a counter below 0");
    f.samples.push({ name, labels, value: value as number });
  });
  for (const f of families.values()) if (f.type === "histogram") checkHistogram(f);
  return families;
}

/** The value of the one sample named `name` whose labels include `labels`; undefined when none, an error when several. */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const found: Sample[] = [];
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) found.push(s);
    }
  }
  if (found.length > 1) throw new Error(`${name}${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value;
}
