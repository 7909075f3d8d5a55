/**
 * Real etcd processes for the tests of `--etcd` mode (Debian `etcd-server`,
 * etcd 3.4, binary `etcd`): one member or a three-member cluster on free
 * loopback ports, data dirs on /dev/shm (a RAM disk; os.tmpdir() without one),
 * heartbeat and election timeouts raised for a loaded 2-core machine. A member
 * can be killed (SIGKILL) and started again on the same name, ports and data
 * dir, which is how a test takes the quorum away and gives it back. Readiness
 * is `GET /health` on the client URL, polled until it answers healthy.
 *
 * Also the replicas themselves: `startReplica` spawns the real server with
 * `--etcd` and a key prefix of its own (`uniquePrefix`), so that tests sharing
 * a cluster never share a registry.
 */
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Spawned, type Started, startSrProcess } from "./process.js";
import { waitFor } from "./wait.js";

export { uniquePrefix } from "./process.js";

export const ETCD_MISSING = "etcd is not installed: sudo apt-get install etcd-server (or bash scripts/install-bench-tools.sh)";

/**
 * Raft timing for a shared 2-core machine: a heartbeat every 200 ms, an election after 2 s
 * without one (etcd's defaults, 100 and 1000 ms, cause spurious elections under load), still short
 * enough that a cluster whose quorum comes back elects a leader within a few seconds.
 */
const HEARTBEAT_MS = 200;
const ELECTION_MS = 2_000;

/** How long a member (or a cluster) may take to answer `/health` healthy after it is started. */
export const ETCD_READY_MS = 30_000;

/** The `etcd` executable on PATH; throws ETCD_MISSING when there is none. */
export function etcdBinary(): string {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, "etcd");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new Error(ETCD_MISSING);
}

/** `count` distinct free loopback ports (all held open at once while chosen, so none is picked twice). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once("error", reject);
          server.listen(0, "127.0.0.1", () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    return address.port;
  });
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  return ports;
}

/** Where the data dirs go: a fresh directory under /dev/shm (or the system's temporary directory). */
function baseDir(): string {
  const base = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
  return mkdtempSync(path.join(base, "sr-etcd-"));
}

/** The answer of `GET url/health`, or undefined when nothing answers (yet). */
async function health(clientUrl: string): Promise<{ health?: string } | undefined> {
  try {
    const response = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(2_000) });
    return (await response.json()) as { health?: string };
  } catch {
    return undefined;
  }
}

/** One etcd member: its name, ports and data dir stay the same across restarts. */
export class EtcdMember {
  proc: Spawned | undefined;
  /** Every process this member ran, for failure messages. */
  private readonly runs: Spawned[] = [];

  constructor(
    readonly name: string,
    readonly clientUrl: string,
    readonly peerUrl: string,
    readonly dataDir: string,
    private readonly initialCluster: string,
    private readonly token: string,
  ) {}

  get running(): boolean {
    return this.proc !== undefined && this.proc.exit === undefined;
  }

  /**
   * Starts the process (again: the data dir, once written, makes etcd rejoin as the member it was,
   * whatever `--initial-cluster-state` says). Does not wait for it to be healthy: a member of a
   * cluster is healthy only once a quorum of members runs.
   */
  spawn(): Spawned {
    if (this.running) throw new Error(`etcd member ${this.name} is already running`);
    const args = [
      "--name", this.name,
      "--data-dir", this.dataDir,
      "--listen-client-urls", this.clientUrl,
      "--advertise-client-urls", this.clientUrl,
      "--listen-peer-urls", this.peerUrl,
      "--initial-advertise-peer-urls", this.peerUrl,
      "--initial-cluster", this.initialCluster,
      "--initial-cluster-state", "new",
      "--initial-cluster-token", this.token,
      "--heartbeat-interval", String(HEARTBEAT_MS),
      "--election-timeout", String(ELECTION_MS),
      // A member cut off from the others does not inflate its term, so its return elects quickly.
      "--pre-vote",
      "--logger", "zap",
      "--log-level", "warn",
    ];
    this.proc = new Spawned(etcdBinary(), args);
    this.runs.push(this.proc);
    return this.proc;
  }

  /** Resolves once `/health` answers healthy (this member sees a leader); fails when it exits first. */
  async ready(timeoutMs = ETCD_READY_MS): Promise<void> {
    if (!this.proc) throw new Error(`etcd member ${this.name} was never started`);
    let gone = false;
    await waitFor(
      async () => {
        gone = !this.running;
        return gone || (await health(this.clientUrl))?.health === "true";
      },
      timeoutMs,
      () => `etcd member ${this.name} (${this.clientUrl}) to answer /health healthy\n${this.describe()}`,
    );
    if (gone) throw new Error(`etcd member ${this.name} is not running\n${this.describe()}`);
  }

  /** SIGKILL, as a crash would: nothing is flushed or handed over. */
  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exit) return;
    await proc.kill();
    if (!proc.exit) throw new Error(`etcd member ${this.name} did not exit after SIGKILL`);
  }

  describe(): string {
    const proc = this.runs.at(-1);
    return proc ? `etcd ${this.name}: ${proc.exit ? `exited ${JSON.stringify(proc.exit)}` : "running"}\n--- stderr (last 3000 chars)\n${proc.stderr.slice(-3_000)}` : `etcd ${this.name}: never started`;
  }
}

export class EtcdCluster {
  private constructor(
    readonly members: EtcdMember[],
    private readonly dir: string,
  ) {}

  /** The client URLs, in member order: what `--etcd` takes (joined with commas). */
  get endpoints(): string[] {
    return this.members.map((member) => member.clientUrl);
  }

  /** `--etcd`'s value. */
  get flag(): string {
    return this.endpoints.join(",");
  }

  /**
   * Starts `size` members at once (1 or 3, usually) and waits until every one answers healthy. The
   * ports are free when chosen, but another process may take one before etcd binds it: then the
   * member exits at once, and the whole cluster is tried again on new ports.
   */
  static async start(size = 1, attempts = 3): Promise<EtcdCluster> {
    for (let attempt = 1; ; attempt++) {
      const cluster = await EtcdCluster.create(size);
      try {
        for (const member of cluster.members) member.spawn();
        await cluster.ready();
        return cluster;
      } catch (error) {
        const exited = cluster.members.some((member) => member.proc?.exit !== undefined);
        await cluster.stop();
        if (!exited || attempt >= attempts) throw error;
      }
    }
  }

  private static async create(size: number): Promise<EtcdCluster> {
    etcdBinary();
    const dir = baseDir();
    made.add(dir);
    const ports = await freePorts(2 * size);
    const token = `sr-test-${process.pid}-${path.basename(dir)}`;
    const names = Array.from({ length: size }, (_, i) => `m${i}`);
    const peer = (i: number) => `http://127.0.0.1:${ports[2 * i + 1]}`;
    const initialCluster = names.map((name, i) => `${name}=${peer(i)}`).join(",");
    const members = names.map((name, i) => {
      const dataDir = path.join(dir, name);
      mkdirSync(dataDir, { mode: 0o700 });
      return new EtcdMember(name, `http://127.0.0.1:${ports[2 * i]}`, peer(i), dataDir, initialCluster, token);
    });
    return new EtcdCluster(members, dir);
  }

  member(i: number): EtcdMember {
    const member = this.members[i];
    if (!member) throw new Error(`no etcd member ${i}`);
    return member;
  }

  /** Kills member `i` with SIGKILL. */
  async kill(i: number): Promise<void> {
    await this.member(i).kill();
  }

  /** Starts member `i` again on its name, ports and data dir; does not wait (see `ready`). */
  restart(i: number): void {
    this.member(i).spawn();
  }

  /** Every member answers `/health` healthy (fails at once when one is not running). */
  async ready(timeoutMs = ETCD_READY_MS): Promise<void> {
    await Promise.all(this.members.map((member) => member.ready(timeoutMs)));
  }

  /** Kills every member and removes the data dirs. */
  async stop(): Promise<void> {
    await Promise.all(this.members.map((member) => member.kill()));
    rmSync(this.dir, { recursive: true, force: true });
    made.delete(this.dir);
  }

  describe(): string {
    return this.members.map((member) => member.describe()).join("\n");
  }
}

/** Data dirs still on disk; removed when the test worker exits, should a test end without `stop()`. */
const made = new Set<string>();
process.once("exit", () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/**
 * A replica: the real server (`node dist/src/main.js --listen 127.0.0.1:0 --no-http`) with
 * `--etcd ENDPOINTS --etcd-prefix PREFIX`, awaited until it logs that gRPC listens.
 */
export function startReplica(endpoints: readonly string[] | string, prefix: string, extraArgs: string[] = [], listen = "127.0.0.1:0"): Promise<Started> {
  const flag = typeof endpoints === "string" ? endpoints : endpoints.join(",");
  return startSrProcess({ listen, args: ["--etcd", flag, "--etcd-prefix", prefix, ...extraArgs] });
}
