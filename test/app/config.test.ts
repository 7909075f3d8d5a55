// The server's configuration (the README, Configuration): flags, SR_LISTEN / SR_HTTP and the
// YAML file, as src/app/config.ts and its schema (src/app/config-schema.ts) read them.
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import {
  ConfigError,
  DEFAULT_HTTP,
  type ServerConfig,
  USAGE,
  applyYaml,
  applyYamlSource,
  defaultConfig,
  durationMs,
  loadConfig,
} from "../../src/app/config.js";
import { README, withTable } from "../../scripts/config-docs.js";
import { removeTempFiles, writeTempFile } from "../helpers/process.js";

afterAll(removeTempFiles);

const MiB = 1024 * 1024;

/** The configuration a YAML text gives on top of the defaults (errors name the key and its line). */
const fromYaml = (yaml: string): ServerConfig => applyYamlSource(defaultConfig(), yaml);

function load(argv: string[], env: NodeJS.ProcessEnv = {}): ServerConfig {
  const config = loadConfig(argv, env);
  if (config === "help") throw new Error("unexpected help");
  return config;
}

/** The ConfigError `run` throws (fails when it throws nothing or something else). */
function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw new Error(`expected a ConfigError, got ${String(error)}`);
  }
  throw new Error("expected a ConfigError, nothing was thrown");
}

describe("defaults (docs/model.md, Limits)", () => {
  it("listens on 127.0.0.1:50051 with the documented limits, and declares nothing", () => {
    const config = load([]);
    expect(config.listen).toBe("127.0.0.1:50051");
    expect(config.limits).toEqual({
      maxGroups: 10_000,
      maxIdentifiersPerGroup: 10_000,
      maxIdentifiers: 100_000,
      maxReceiveMessageBytes: 4 * MiB,
      gracePeriodMs: 10_000,
    });
    expect(config.watch).toEqual({
      history: 10_000,
      budgetMessages: 1_000,
      budgetBytes: 4 * MiB,
      progressIntervalMs: 30_000,
      maxWatchers: 10_000,
      maxWatchersPerConnection: 1_000,
    });
    expect(config.groups).toEqual([]);
    expect(config.tokens).toEqual([]);
    expect(config.tls).toBeUndefined();
  });

  it("an empty YAML file changes nothing", () => {
    const file = writeTempFile("empty.yaml", "");
    expect(load(["--config", file])).toEqual(load([]));
    expect(applyYamlSource(defaultConfig(), "")).toEqual(defaultConfig());
  });

  it("each call gets its own defaults (changing one config does not change the next)", () => {
    const first = defaultConfig();
    first.limits.maxGroups = 1;
    first.watch.history = 1;
    expect(defaultConfig().limits.maxGroups).toBe(10_000);
    expect(defaultConfig().watch.history).toBe(10_000);
  });

  it("--help asks for the usage", () => {
    expect(loadConfig(["--help"], {})).toBe("help");
  });
});

describe("where the address comes from", () => {
  const file = () => writeTempFile("listen.yaml", "listen: 127.0.0.3:7003\n");

  it("SR_LISTEN replaces the default", () => {
    expect(load([], { SR_LISTEN: "127.0.0.2:7002" }).listen).toBe("127.0.0.2:7002");
  });

  it("SR_LISTEN overrides --config (it stands for --listen)", () => {
    expect(load(["--config", file()], { SR_LISTEN: "127.0.0.2:7002" }).listen).toBe("127.0.0.2:7002");
    expect(load(["--config", file()], {}).listen).toBe("127.0.0.3:7003");
  });

  it("--listen overrides --config and SR_LISTEN, wherever it appears", () => {
    const f = file();
    expect(load(["--listen", "127.0.0.1:7001", "--config", f], { SR_LISTEN: "127.0.0.2:7002" }).listen).toBe("127.0.0.1:7001");
    expect(load(["--config", f, "--listen=127.0.0.1:7001"], { SR_LISTEN: "127.0.0.2:7002" }).listen).toBe("127.0.0.1:7001");
  });

  it("an empty SR_LISTEN is ignored", () => {
    expect(load([], { SR_LISTEN: "" }).listen).toBe("127.0.0.1:50051");
  });

  it.each([
    ["a host without a port", "127.0.0.1"],
    ["a port out of range", "127.0.0.1:70000"],
    ["a port that is not a number", "127.0.0.1:http"],
  ])("%s is refused when the configuration is read, naming where it came from", (_what, value) => {
    expect(configError(() => load(["--listen", value])).message).toMatch(/--listen|listen/);
    expect(configError(() => load([], { SR_LISTEN: value })).message).toMatch(/SR_LISTEN/);
    const yaml = writeTempFile("bad-listen.yaml", `listen: "${value}"\n`);
    expect(configError(() => load(["--config", yaml])).message).toMatch(/listen/);
  });

  it("accepts HOST:PORT forms a user would write (IPv4, name, bracketed IPv6, port 0)", () => {
    for (const value of ["0.0.0.0:50051", "localhost:0", "[::1]:50051", "[::]:0"]) {
      expect(load(["--listen", value]).listen).toBe(value);
    }
  });
});

describe("flags and files that cannot be used", () => {
  it("an unknown flag is refused naming it", () => {
    expect(configError(() => load(["--lisen", "x:1"])).message).toMatch(/--lisen|lisen/);
  });

  it("a missing --config file is refused naming the file", () => {
    const message = configError(() => load(["--config", "/nonexistent/sr.yaml"])).message;
    expect(message).toMatch(/--config/);
    expect(message).toMatch(/\/nonexistent\/sr\.yaml/);
  });

  it("a file that is not YAML is refused naming the file", () => {
    const file = writeTempFile("broken.yaml", "limits: [unclosed\n");
    const message = configError(() => load(["--config", file])).message;
    expect(message).toMatch(/not valid YAML/);
    expect(message).toContain(file);
  });

  it("a document that is not a mapping is refused", () => {
    expect(configError(() => fromYaml("- listen\n- limits\n")).message).toMatch(/must be a mapping/);
  });
});

describe("every key of the README configuration", () => {
  it("listen", () => {
    expect(fromYaml("listen: 0.0.0.0:6000").listen).toBe("0.0.0.0:6000");
  });

  it("limits.*", () => {
    const config = fromYaml(`
limits:
  max_groups: 3
  max_identifiers_per_group: 4
  max_identifiers: 5
  max_watchers_per_connection: 6
  max_watchers: 7
  max_receive_message_bytes: 65536
  grace_period: 2s
`);
    expect(config.limits).toEqual({
      maxGroups: 3,
      maxIdentifiersPerGroup: 4,
      maxIdentifiers: 5,
      maxReceiveMessageBytes: 65_536,
      gracePeriodMs: 2_000,
    });
    expect(config.watch.maxWatchersPerConnection).toBe(6);
    expect(config.watch.maxWatchers).toBe(7);
  });

  it("watch.*", () => {
    const config = fromYaml(`
watch:
  history: 50
  progress_interval: 500ms
  budget_messages: 20
  budget_bytes: 65536
`);
    expect(config.watch).toMatchObject({ history: 50, progressIntervalMs: 500, budgetMessages: 20, budgetBytes: 65_536 });
  });

  it("keys left out keep their defaults", () => {
    const config = fromYaml("limits:\n  max_groups: 3\nwatch:\n  history: 5\n");
    expect(config.limits.maxIdentifiers).toBe(100_000);
    expect(config.limits.gracePeriodMs).toBe(10_000);
    expect(config.watch.progressIntervalMs).toBe(30_000);
    expect(config.watch.budgetMessages).toBe(1_000);
  });

  it("groups with their identifiers (every field optional but the name)", () => {
    const config = fromYaml(`
groups:
  - name: billing
    status: -1
    details: warming up
    report_capacity: 10
    identifiers:
      - name: db
        status: 2
        details: ""
        report_capacity: 0
      - name: cache
  - name: bare
`);
    expect(config.groups).toEqual([
      {
        name: "billing",
        status: -1,
        details: "warming up",
        reportCapacity: 10,
        identifiers: [
          { name: "db", status: 2, details: "", reportCapacity: 0 },
          { name: "cache", status: undefined, details: undefined, reportCapacity: undefined },
        ],
      },
      { name: "bare", status: undefined, details: undefined, reportCapacity: undefined, identifiers: [] },
    ]);
  });

  it("auth.tokens", () => {
    const sha = "a".repeat(64);
    const config = fromYaml(`
auth:
  tokens:
    - name: ci
      sha256: ${sha}
      role: write
      groups: [billing, Shipping]
    - name: ops
      sha256: ${"B".repeat(64)}
      role: admin
`);
    expect(config.tokens).toEqual([
      { name: "ci", sha256: sha, role: "write", groups: ["billing", "Shipping"] },
      { name: "ops", sha256: "B".repeat(64), role: "admin", groups: undefined },
    ]);
  });

  it("tls", () => {
    expect(fromYaml("tls:\n  cert: /etc/sr/cert.pem\n  key: /etc/sr/key.pem\n").tls).toEqual({
      cert: "/etc/sr/cert.pem",
      key: "/etc/sr/key.pem",
      clientCa: undefined,
    });
    expect(fromYaml("tls:\n  cert: c.pem\n  key: k.pem\n  client_ca: ca.pem\n").tls).toEqual({ cert: "c.pem", key: "k.pem", clientCa: "ca.pem" });
  });

  it("auth.certificates, open_http and open", () => {
    const config = fromYaml(`
auth:
  open: true
  open_http: [/metrics, /mi/]
  certificates:
    - { subject: dashboard, role: read }
    - { san: "spiffe://prod/ns/billing/sa/worker", role: write, groups: [billing] }
`);
    expect(config.certificates).toEqual([
      { subject: "dashboard", role: "read", groups: undefined },
      { san: "spiffe://prod/ns/billing/sa/worker", role: "write", groups: ["billing"] },
    ]);
    expect(config.openHttp).toEqual(["/metrics", "/mi"]);
    expect(config.allowOpen).toBe(true);
    expect(config.tokens).toEqual([]);
  });

  it("tls.reload_interval", () => {
    expect(fromYaml("tls:\n  cert: c\n  key: k\n  reload_interval: 500ms\n").tls?.reloadIntervalMs).toBe(500);
  });

  it("--tls-cert, --tls-key and --tls-client-ca each replace their key; --allow-open", () => {
    const file = writeTempFile("tls.yaml", "tls:\n  cert: file.crt\n  key: file.key\n  reload_interval: 2s\n");
    expect(load(["--config", file, "--tls-cert", "flag.crt"]).tls).toEqual({ cert: "flag.crt", key: "file.key", reloadIntervalMs: 2000 });
    expect(load(["--tls-cert", "a.crt", "--tls-key", "a.key", "--tls-client-ca", "ca.crt"]).tls).toEqual({ cert: "a.crt", key: "a.key", clientCa: "ca.crt" });
    expect(configError(() => load(["--tls-cert", "a.crt"])).message).toMatch(/--tls-key: TLS needs both/);
    expect(configError(() => load(["--tls-client-ca", "ca.crt"])).message).toMatch(/TLS needs both/);
    expect(load([]).allowOpen).toBe(false);
    expect(load(["--allow-open"]).allowOpen).toBe(true);
  });

  it("a file passed with --config is applied as a whole", () => {
    const file = writeTempFile(
      "full.yaml",
      "listen: 127.0.0.1:0\nlimits:\n  max_groups: 2\nwatch:\n  progress_interval: 1\ngroups:\n  - name: g\n",
    );
    const config = load(["--config", file]);
    expect(config.listen).toBe("127.0.0.1:0");
    expect(config.limits.maxGroups).toBe(2);
    expect(config.watch.progressIntervalMs).toBe(1_000);
    expect(config.groups.map((g) => g.name)).toEqual(["g"]);
  });
});

describe("durations", () => {
  it.each<[unknown, number]>([
    ["30s", 30_000],
    ["500ms", 500],
    ["2m", 120_000],
    ["1.5s", 1_500],
    [2, 2_000],
    [0.25, 250],
  ])("%j is %d ms", (value, ms) => {
    expect(durationMs(value, "watch.progress_interval")).toBe(ms);
    expect(fromYaml(`limits:\n  grace_period: ${JSON.stringify(value)}\n`).limits.gracePeriodMs).toBe(ms);
  });

  it.each<[string, unknown]>([
    ["zero", 0],
    ["negative", -1],
    ["zero with a unit", "0s"],
    ["no unit on a string", "30"],
    ["an unknown unit", "1h"],
    ["words", "soon"],
    ["a list", [1]],
  ])("%s is refused naming the key", (_what, value) => {
    expect(configError(() => fromYaml(`watch:\n  progress_interval: ${JSON.stringify(value)}\n`)).message).toMatch(
      /^watch\.progress_interval: /,
    );
  });

  it("a duration that rounds to 0 ms is refused (it would mean no wait at all)", () => {
    for (const value of [0.0001, "0.1ms"]) {
      expect(() => durationMs(value, "limits.grace_period"), JSON.stringify(value)).toThrow(/limits\.grace_period/);
    }
  });
});

describe("unknown keys and bad values are refused, naming the key", () => {
  it.each<[string, string, RegExp]>([
    ["an unknown top-level key", "lisen: 127.0.0.1:1\n", /^lisen: line 1: unknown key/],
    ["an unknown limits key", "limits:\n  max_group: 3\n", /^limits\.max_group: line 2: unknown key/],
    ["an unknown watch key", "watch:\n  interval: 1s\n", /^watch\.interval: line 2: unknown key/],
    ["an unknown group key", "groups:\n  - name: g\n    capacity: 3\n", /^groups\[0\]\.capacity: line 3: unknown key/],
    [
      "an unknown identifier key",
      "groups:\n  - name: g\n    identifiers:\n      - name: i\n        state: 1\n",
      /^groups\[0\]\.identifiers\[0\]\.state: line 5: unknown key/,
    ],
    ["an unknown token key", `auth:\n  tokens:\n    - name: t\n      sha256: ${"a".repeat(64)}\n      role: read\n      secret: x\n`, /^auth\.tokens\[0\]\.secret: line 6: unknown key/],
    ["an unknown tls key", "tls:\n  cert: c\n  key: k\n  ca: x\n", /^tls\.ca: line 4: unknown key/],
    ["listen that is not a string", "listen: 8080\n", /^listen: /],
    ["limits that is not a mapping", "limits: 3\n", /^limits: line 1: must be a mapping/],
    ["max_groups zero", "limits:\n  max_groups: 0\n", /^limits\.max_groups: /],
    ["max_groups not an integer", "limits:\n  max_groups: 1.5\n", /^limits\.max_groups: /],
    ["max_groups as text", "limits:\n  max_groups: ten\n", /^limits\.max_groups: /],
    ["max_identifiers_per_group negative", "limits:\n  max_identifiers_per_group: -1\n", /^limits\.max_identifiers_per_group: /],
    ["max_identifiers zero", "limits:\n  max_identifiers: 0\n", /^limits\.max_identifiers: /],
    ["max_watchers zero", "limits:\n  max_watchers: 0\n", /^limits\.max_watchers: /],
    ["max_watchers_per_connection zero", "limits:\n  max_watchers_per_connection: 0\n", /^limits\.max_watchers_per_connection: /],
    ["max_receive_message_bytes tiny", "limits:\n  max_receive_message_bytes: 10\n", /^limits\.max_receive_message_bytes: /],
    ["grace_period words", "limits:\n  grace_period: later\n", /^limits\.grace_period: /],
    ["history negative", "watch:\n  history: -1\n", /^watch\.history: /],
    ["budget_messages zero", "watch:\n  budget_messages: 0\n", /^watch\.budget_messages: /],
    ["budget_bytes tiny", "watch:\n  budget_bytes: 100\n", /^watch\.budget_bytes: /],
    ["groups that is not a list", "groups:\n  name: g\n", /^groups: line 1: must be a list/],
    ["a group without a name", "groups:\n  - status: 1\n", /^groups\[0\]\.name: /],
    ["a group status that is not an integer", "groups:\n  - name: g\n    status: up\n", /^groups\[0\]\.status: /],
    ["a status beyond 32 bits", "groups:\n  - name: g\n    status: 4294967296\n", /^groups\[0\]\.status: /],
    ["a report_capacity over 32767", "groups:\n  - name: g\n    report_capacity: 32768\n", /^groups\[0\]\.report_capacity: /],
    ["identifiers that is not a list", "groups:\n  - name: g\n    identifiers: db\n", /^groups\[0\]\.identifiers: line 3: must be a list/],
    ["an identifier details that is not text", "groups:\n  - name: g\n    identifiers:\n      - name: i\n        details: [1]\n", /^groups\[0\]\.identifiers\[0\]\.details: /],
    // auth may now hold only certificates or `open`, but an empty one is still a mistake.
    ["auth with nothing in it", "auth: {}\n", /^auth: line 1: must hold tokens, certificates or open/],
    ["tokens that is not a list", "auth:\n  tokens: ops\n", /^auth\.tokens: line 2: must be a list/],
    ["a write token with groups: []", `auth:\n  tokens:\n    - { name: w, sha256: ${"a".repeat(64)}, role: write, groups: [] }\n`, /^auth\.tokens\[0\]\.groups: line 3: an empty list would allow no group; omit groups for every public group/],
    ["groups on a read token", `auth:\n  tokens:\n    - { name: r, sha256: ${"a".repeat(64)}, role: read, groups: [billing] }\n`, /^auth\.tokens\[0\]\.groups: line 3: only role write/],
    ["a certificate with neither subject nor san", "auth:\n  certificates:\n    - { role: read }\n", /^auth\.certificates\[0\]: line 3: must have either subject/],
    ["a certificate with both", "auth:\n  certificates:\n    - { subject: a, san: b, role: read }\n", /^auth\.certificates\[0\]: line 3: must have either subject/],
    ["a certificate with groups: []", "auth:\n  certificates:\n    - { san: a, role: write, groups: [] }\n", /^auth\.certificates\[0\]\.groups: line 3: an empty list/],
    ["an unknown certificate key", "auth:\n  certificates:\n    - { cn: a, role: read }\n", /^auth\.certificates\[0\]\.cn: line 3: unknown key/],
    ["open that is not a boolean", "auth:\n  open: yes please\n", /^auth\.open: line 2: must be true or false/],
    ["an open_http entry that is no path", "auth:\n  open: false\n  open_http: [metrics]\n", /^auth\.open_http\[0\]: line 3: must be a path/],
    // A URL parser reads these as a host (`//metrics` would be `/`, MI at POST /) or throws on them (`//[`).
    ["an open_http entry starting with //", "auth:\n  open: false\n  open_http: [//metrics]\n", /^auth\.open_http\[0\]: line 3: must be a path such as \/metrics \(got '\/\/metrics'\)$/],
    ["an open_http entry no URL parser takes", "auth:\n  open: false\n  open_http: ['//[']\n", /^auth\.open_http\[0\]: line 3: must be a path such as \/metrics \(got '\/\/\['\)$/],
    ["an open_http entry the parser would rewrite", "auth:\n  open: false\n  open_http: [/healthz, /a/../mi]\n", /^auth\.open_http\[1\]: line 3: must be a path/],
    ["an open_http entry with a fragment", "auth:\n  open: false\n  open_http: ['/metrics#x']\n", /^auth\.open_http\[0\]: line 3: must be a path/],
    ["an open_http entry with a query", "auth:\n  open: false\n  open_http: ['/metrics?x']\n", /^auth\.open_http\[0\]: line 3: must be a path/],
    ["an open_http entry with a backslash", "auth:\n  open: false\n  open_http: ['/\\metrics']\n", /^auth\.open_http\[0\]: line 3: must be a path/],
    ["a reload_interval that is no duration", "tls:\n  cert: c\n  key: k\n  reload_interval: often\n", /^tls\.reload_interval: /],
    ["a token sha256 that is not 64 hex digits", "auth:\n  tokens:\n    - name: t\n      sha256: abc\n      role: read\n", /^auth\.tokens\[0\]\.sha256: /],
    ["a token role that does not exist", `auth:\n  tokens:\n    - name: t\n      sha256: ${"a".repeat(64)}\n      role: root\n`, /^auth\.tokens\[0\]\.role: /],
    ["token groups that is not a list", `auth:\n  tokens:\n    - name: t\n      sha256: ${"a".repeat(64)}\n      role: write\n      groups: billing\n`, /^auth\.tokens\[0\]\.groups: /],
    ["tls without a key", "tls:\n  cert: c.pem\n", /^tls\.key: line 1: is required/],
  ])("%s", (_what, yaml, message) => {
    expect(configError(() => fromYaml(yaml)).message).toMatch(message);
  });

  it("a bad value in a --config file is refused the same way", () => {
    const file = writeTempFile("bad.yaml", "limits:\n  max_groups: -5\n");
    expect(configError(() => load(["--config", file])).message).toBe("limits.max_groups: line 2: must be a positive integer");
  });

  it("without the YAML text (a parsed document), the same errors name the key without a line", () => {
    expect(configError(() => applyYaml(defaultConfig(), parseYaml("limits:\n  max_groups: 0\n"))).message).toBe(
      "limits.max_groups: must be a positive integer",
    );
  });
});

describe("limits takes the names of docs/model.md, Limits", () => {
  it("accepts the watch tunables under limits too, and the short names of the counts", () => {
    const c = fromYaml(
      "limits:\n  history: 5\n  budget_messages: 7\n  budget_bytes: 4096\n  progress_interval: 2s\n  groups: 3\n  identifiers_per_group: 4\n  identifiers: 9\n  watchers: 8\n  watchers_per_connection: 2\n",
    );
    expect(c.watch).toMatchObject({ history: 5, budgetMessages: 7, budgetBytes: 4096, progressIntervalMs: 2000, maxWatchers: 8, maxWatchersPerConnection: 2 });
    expect(c.limits).toMatchObject({ maxGroups: 3, maxIdentifiersPerGroup: 4, maxIdentifiers: 9 });
  });

  it("still refuses a key that is no limit, listing the known ones", () => {
    const message = configError(() => fromYaml("limits:\n  colour: 5\n")).message;
    expect(message).toMatch(/^limits\.colour: line 2: unknown key \(known: max_groups, .*history/);
    // Only the keys are listed, not every alias.
    expect(message).not.toMatch(/watch_streams_per_connection/);
  });

  it("a key and one of its aliases together are refused (which one would win?)", () => {
    expect(configError(() => fromYaml("limits:\n  max_groups: 3\n  groups: 4\n")).message).toBe(
      "limits.groups: line 3: is another name for limits.max_groups, given too (as max_groups); keep one",
    );
  });
});

describe("limits: the gRPC listener's connection limits and the MI answer bound", () => {
  it("defaults: 4,096 streams per connection, keepalive 60 s / 20 s, idle 5 min, no age limit (10 s grace), answers of 16 MiB", () => {
    const config = load([]);
    expect(config.listener).toEqual({
      maxConcurrentStreams: 4_096,
      keepaliveTimeMs: 60_000,
      keepaliveTimeoutMs: 20_000,
      maxConnectionIdleMs: 300_000,
      maxConnectionAgeMs: undefined,
      maxConnectionAgeGraceMs: 10_000,
    });
    expect(config.listener.maxConcurrentStreams).toBeGreaterThan(config.watch.maxWatchersPerConnection);
    expect(config.mi).toEqual({ maxAnswerBytes: 16 * MiB });
  });

  it("every key, durations as the other durations are written", () => {
    const config = fromYaml(`
limits:
  max_concurrent_streams: 2000
  keepalive_time: 30s
  keepalive_timeout: 5s
  max_connection_idle: 2m
  max_connection_age: 60m
  max_connection_age_grace: 500ms
  max_answer_bytes: 1048576
`);
    expect(config.listener).toEqual({
      maxConcurrentStreams: 2_000,
      keepaliveTimeMs: 30_000,
      keepaliveTimeoutMs: 5_000,
      maxConnectionIdleMs: 120_000,
      maxConnectionAgeMs: 3_600_000,
      maxConnectionAgeGraceMs: 500,
    });
    expect(config.mi.maxAnswerBytes).toBe(MiB);
  });

  it.each(["off", "false", "0"])("max_connection_idle and max_connection_age: %s turns them off", (off) => {
    const config = fromYaml(`limits:\n  max_connection_idle: ${off}\n  max_connection_age: ${off}\n`);
    expect(config.listener.maxConnectionIdleMs).toBeUndefined();
    expect(config.listener.maxConnectionAgeMs).toBeUndefined();
  });

  it.each([
    ["max_concurrent_streams: 0", /^limits\.max_concurrent_streams: line 2: must be an integer between 1 and 2147483647/],
    ["keepalive_time: soon", /^limits\.keepalive_time: line 2: must be a positive duration/],
    ["max_connection_age: -1", /^limits\.max_connection_age: line 2: /],
    ["max_answer_bytes: 10", /^limits\.max_answer_bytes: line 2: must be an integer of at least 1024/],
  ])("refuses %s, naming the key", (line, message) => {
    expect(configError(() => fromYaml(`limits:\n  ${line}\n`)).message).toMatch(message);
  });

  it("refuses max_concurrent_streams at or below max_watchers_per_connection: the watcher limit must answer first", () => {
    expect(configError(() => fromYaml("limits:\n  max_concurrent_streams: 1000\n")).message).toBe(
      "limits.max_concurrent_streams: line 2: must be above limits.max_watchers_per_connection (1000), so the watcher limit answers first (got 1000)",
    );
    // Raising only the watcher limit past the default stream limit names the key that was written.
    expect(configError(() => fromYaml("limits:\n  max_groups: 5\n  watchers_per_connection: 5000\n")).message).toMatch(
      /^limits\.watchers_per_connection: line 3: must be below limits\.max_concurrent_streams \(4096\)/,
    );
    expect(fromYaml("limits:\n  max_watchers_per_connection: 5000\n  max_concurrent_streams: 5001\n").listener.maxConcurrentStreams).toBe(5_001);
  });
});

describe("errors name the key, then the line, then the rule (sr config check prints the same)", () => {
  const file = (yaml: string) => writeTempFile("sr.yaml", yaml);
  const refused = (yaml: string) => configError(() => load(["--config", file(yaml)])).message;

  it("an unknown key names the key itself, its line, and the known keys", () => {
    expect(refused("listen: 127.0.0.1:0\nwatch:\n  history: 5\n  histroy: 6\n")).toBe(
      "watch.histroy: line 4: unknown key (known: history, progress_interval, budget_messages, budget_bytes)",
    );
  });

  it("a bad value", () => {
    expect(refused("# limits of this node\nlimits:\n  max_groups: 0\n")).toBe("limits.max_groups: line 3: must be a positive integer");
    expect(refused("groups:\n  - name: billing\n    report_capacity: 40000\n")).toBe("groups[0].report_capacity: line 3: must be an integer between 0 and 32767");
    expect(refused("groups:\n  - name: billing\n    status: 0\n")).toMatch(/^groups\[0\]\.status: line 3: must not be 0/);
    expect(refused(`leases:\n  expired_details: ${"x".repeat(2049)}\n`)).toMatch(/^leases\.expired_details: line 2: must be at most 2048 bytes/);
  });

  it("a bad group or identifier name, by the registry's own rules", () => {
    expect(refused("groups:\n  - name: billing\n  - name: ship/ping\n")).toBe("groups[1].name: line 3: a group name must not contain '/'");
    expect(refused("groups:\n  - name: billing\n    identifiers:\n      - name: db\n      - name: ALL\n")).toMatch(
      /^groups\[0\]\.identifiers\[1\]\.name: line 5: 'all' is reserved/,
    );
    expect(refused("groups:\n  - name: ''\n")).toMatch(/^groups\[0\]\.name: line 2: must not be empty/);
    expect(refused("groups:\n  - status: 1\n")).toBe("groups[0].name: line 2: is required");
  });

  it("a bad duration", () => {
    expect(refused("watch:\n  history: 10\n  progress_interval: 1h\n")).toBe(
      'watch.progress_interval: line 3: must be a positive duration such as 30, "30s", "500ms" or "2m"',
    );
    expect(refused("limits:\n  max_connection_idle: never\n")).toMatch(/^limits\.max_connection_idle: line 2: must be a positive duration .*, or off$/);
  });

  it("every error of the file at once, in the order of its lines", () => {
    expect(refused("limits:\n  max_groups: x\nwatch:\n  progress: soon\nlisen: 1\n").split("\n")).toEqual([
      "limits.max_groups: line 2: must be a positive integer",
      'watch.progress: line 4: must be a positive duration such as 30, "30s", "500ms" or "2m"',
      "lisen: line 5: unknown key (known: listen, http, limits, watch, leases, groups, auth, tls, log, metrics, storage)",
    ]);
  });

  it("a YAML syntax error names the file and the line", () => {
    const path = file("limits:\n  max_groups: 3\n bad: [\n");
    const message = configError(() => load(["--config", path])).message;
    expect(message).toContain(`--config: ${path} is not valid YAML`);
    expect(message).toMatch(/line 3/);
  });
});

describe("the HTTP listener: on by default in the process, off in defaultConfig()", () => {
  it("loadConfig serves HTTP on 127.0.0.1:8080 unless told otherwise, marked as the default", () => {
    const config = load([]);
    expect(config.http).toBe("127.0.0.1:8080");
    expect(DEFAULT_HTTP).toBe("127.0.0.1:8080");
    expect(config.httpDefault).toBe(true);
  });

  it("defaultConfig() (in-process test servers) has no HTTP listener", () => {
    expect(defaultConfig().http).toBeUndefined();
    expect(defaultConfig().httpDefault).toBe(false);
  });

  it("an address from the file, SR_HTTP or --http is asked for (not the default); the flag wins, then SR_HTTP", () => {
    const file = writeTempFile("http.yaml", "http: 127.0.0.1:9001\n");
    expect(load(["--config", file])).toMatchObject({ http: "127.0.0.1:9001", httpDefault: false });
    expect(load(["--config", file], { SR_HTTP: "127.0.0.1:9002" })).toMatchObject({ http: "127.0.0.1:9002", httpDefault: false });
    expect(load(["--config", file, "--http", "127.0.0.1:0"], { SR_HTTP: "127.0.0.1:9002" })).toMatchObject({ http: "127.0.0.1:0", httpDefault: false });
    expect(load([], { SR_HTTP: "" }).httpDefault).toBe(true);
  });

  it("--no-http turns it off, over the file and SR_HTTP", () => {
    const file = writeTempFile("http.yaml", "http: 127.0.0.1:9001\n");
    expect(load(["--no-http"])).toMatchObject({ http: undefined, httpDefault: false });
    expect(load(["--config", file, "--no-http"], { SR_HTTP: "127.0.0.1:9002" })).toMatchObject({ http: undefined, httpDefault: false });
  });

  it("http: false in the file turns it off; SR_HTTP or --http still turn it on", () => {
    const file = writeTempFile("no-http.yaml", "http: false\n");
    expect(load(["--config", file])).toMatchObject({ http: undefined, httpDefault: false });
    expect(load(["--config", file], { SR_HTTP: "127.0.0.1:9002" }).http).toBe("127.0.0.1:9002");
    expect(load(["--config", file, "--http", "127.0.0.1:0"]).http).toBe("127.0.0.1:0");
  });

  it("refuses --http with --no-http, and an http that is neither an address nor false", () => {
    expect(configError(() => load(["--http", "127.0.0.1:0", "--no-http"])).message).toMatch(/^--http and --no-http: /);
    expect(configError(() => fromYaml("http: true\n")).message).toBe(
      "http: line 1: must be HOST:PORT with a port from 0 to 65535, e.g. 127.0.0.1:50051, or false to turn HTTP off",
    );
    expect(configError(() => load(["--http", "8080"])).message).toMatch(/^--http: must be HOST:PORT/);
  });

  it("the usage text says HTTP is on by default and how to turn it off", () => {
    expect(USAGE).not.toMatch(/off by default/);
    expect(USAGE).toContain("--no-http");
    expect(USAGE).toContain(DEFAULT_HTTP);
    for (const flag of ["--log-level", "--log-format", "--data-dir", "--etcd"]) expect(USAGE).toContain(flag);
  });
});

describe("log, metrics and storage", () => {
  it("defaults: info, the format chosen by the terminal, per-identifier metrics, in memory", () => {
    const config = load([]);
    expect(config.log).toEqual({ level: "info", format: undefined });
    expect(config.metrics).toEqual({ perIdentifier: true });
    expect(config.storage).toEqual({});
  });

  it("the file's keys, and the flags over them", () => {
    const file = writeTempFile("log.yaml", "log:\n  level: debug\n  format: json\nmetrics:\n  per_identifier: false\n");
    expect(load(["--config", file])).toMatchObject({ log: { level: "debug", format: "json" }, metrics: { perIdentifier: false } });
    expect(load(["--config", file, "--log-level", "warn", "--log-format", "pretty"]).log).toEqual({ level: "warn", format: "pretty" });
  });

  it("refuses a level or format that does not exist, naming the key or flag", () => {
    expect(configError(() => fromYaml("log:\n  level: verbose\n")).message).toBe(
      "log.level: line 2: must be one of fatal, error, warn, info, debug, trace, silent",
    );
    expect(configError(() => fromYaml("log:\n  format: xml\n")).message).toBe("log.format: line 2: must be one of json, pretty");
    expect(configError(() => load(["--log-level", "loud"])).message).toMatch(/^--log-level: must be one of fatal/);
    expect(configError(() => fromYaml("metrics:\n  per_identifier: no\n")).message).toBe("metrics.per_identifier: line 2: must be true or false");
  });

  it("storage.data_dir, and --data-dir", () => {
    expect(fromYaml("storage:\n  data_dir: /var/lib/sr\n").storage).toEqual({ dataDir: "/var/lib/sr" });
    expect(load(["--data-dir", "/tmp/sr"]).storage).toEqual({ dataDir: "/tmp/sr" });
  });

  it("storage.etcd: endpoints as a list or one comma string, the prefix defaulting to /sr/", () => {
    expect(fromYaml("storage:\n  etcd:\n    endpoints: [http://127.0.0.1:2379, https://etcd.example:2379]\n").storage).toEqual({
      etcd: { endpoints: ["http://127.0.0.1:2379", "https://etcd.example:2379"], prefix: "/sr/" },
    });
    const full = fromYaml(
      "storage:\n  etcd:\n    endpoints: http://a:2379,http://b:2379\n    prefix: /prod/sr/\n    tls: { ca: ca.pem, cert: c.pem, key: k.pem }\n    username: sr\n    password: secret\n",
    );
    expect(full.storage.etcd).toEqual({
      endpoints: ["http://a:2379", "http://b:2379"],
      prefix: "/prod/sr/",
      tls: { ca: "ca.pem", cert: "c.pem", key: "k.pem" },
      username: "sr",
      password: "secret",
    });
    expect(load(["--etcd", "http://127.0.0.1:2379,http://127.0.0.2:2379"]).storage).toEqual({
      etcd: { endpoints: ["http://127.0.0.1:2379", "http://127.0.0.2:2379"], prefix: "/sr/" },
    });
  });

  it("--etcd replaces the file's endpoints and keeps its prefix and credentials", () => {
    const file = writeTempFile("etcd.yaml", "storage:\n  etcd:\n    endpoints: [http://a:2379]\n    prefix: /x/\n    username: u\n    password: p\n");
    expect(load(["--config", file, "--etcd", "http://b:2379"]).storage.etcd).toEqual({ endpoints: ["http://b:2379"], prefix: "/x/", username: "u", password: "p" });
  });

  it("refuses endpoints that are not URLs, and etcd without endpoints", () => {
    expect(configError(() => fromYaml("storage:\n  etcd:\n    endpoints: [127.0.0.1:2379]\n")).message).toMatch(
      /^storage\.etcd\.endpoints: line 3: must be http:\/\/ or https:\/\/ URLs/,
    );
    expect(configError(() => fromYaml("storage:\n  etcd:\n    prefix: /sr/\n")).message).toBe("storage.etcd.endpoints: line 2: is required");
    expect(configError(() => load(["--etcd", "etcd:2379"])).message).toMatch(/^--etcd: must be http:\/\/ or https:\/\//);
    // An endpoint refused is echoed without its userinfo, however it fails.
    for (const [endpoint, shown] of [
      ["ftp://sr:s3cret@etcd:2379", "ftp://***@etcd:2379"],
      ["http://sr:s3cret@[etcd:2379", "http://***@[etcd:2379"],
      ["sr:s3cret@etcd:2379", "***@etcd:2379"],
      ["http://sr:s3c@ret@[etcd/x", "http://***@[etcd/x"],
    ]) {
      const message = configError(() => load(["--etcd", endpoint as string])).message;
      expect(message, endpoint).toBe(`--etcd: must be http:// or https:// URLs such as http://127.0.0.1:2379 (got '${shown}')`);
      expect(configError(() => fromYaml(`storage:\n  etcd:\n    endpoints: ['${endpoint}']\n`)).message, endpoint).not.toContain("s3c");
    }
  });

  it("refuses data_dir with etcd, in the file, as flags, and one from each", () => {
    expect(configError(() => fromYaml("storage:\n  data_dir: /var/lib/sr\n  etcd:\n    endpoints: [http://a:2379]\n")).message).toMatch(
      /^storage\.etcd: line 3: cannot be used with storage\.data_dir: data_dir \(SQLite on this machine\) and etcd \(a registry shared by replicas\) exclude each other/,
    );
    expect(configError(() => load(["--data-dir", "/tmp/sr", "--etcd", "http://a:2379"])).message).toMatch(/^--data-dir and --etcd: .*exclude each other/);
    const dataDir = writeTempFile("data.yaml", "listen: 127.0.0.1:0\nstorage:\n  data_dir: /var/lib/sr\n");
    expect(configError(() => load(["--config", dataDir, "--etcd", "http://a:2379"])).message).toBe(
      `--etcd: cannot be used with storage.data_dir (line 3 of ${dataDir}): data_dir (SQLite on this machine) and etcd (a registry shared by replicas) exclude each other; choose one`,
    );
    const etcd = writeTempFile("etcd.yaml", "storage:\n  etcd:\n    endpoints: [http://a:2379]\n");
    expect(configError(() => load(["--config", etcd, "--data-dir", "/tmp/sr"])).message).toMatch(/^--data-dir: cannot be used with storage\.etcd \(line 2 of /);
  });
});

describe("README.md documents every key with its default, generated from the schema", () => {
  it("the table between the config-keys markers is what `npm run docs:config` writes (run it after changing the schema)", () => {
    const readme = readFileSync(README, "utf8");
    expect(withTable(readme), "README.md's configuration table is stale: run `npm run docs:config`").toBe(readme);
  });

  it("it lists every key with its default, its aliases beside it", () => {
    const table = withTable(readFileSync(README, "utf8"));
    expect(table).toContain("| `limits.max_groups` | `10000` | integer ≥ 1 |");
    expect(table).toMatch(/\| `limits\.max_groups` .*Also: `groups`\. \|/);
    expect(table).toContain("| `http` | `127.0.0.1:8080` |");
    expect(table).toContain("| `watch.progress_interval` | `30s` |");
    expect(table).toContain("| `storage.etcd.prefix` | `/sr/` |");
    for (const key of ["log.level", "log.format", "metrics.per_identifier", "storage.data_dir", "storage.etcd.endpoints", "groups[].identifiers[].name", "auth.tokens[].sha256", "tls.reload_interval", "leases.expired_status"]) {
      expect(table).toContain(`| \`${key}\` |`);
    }
  });
});
