/** h2load driving one gRPC unary method at the HTTP/2 level, pinned to the load core. */
import { SR } from "./grpc.js";
import { LOAD_CORE, Proc } from "./procs.js";

export interface H2loadResult {
  calls: number;
  callsPerS: number;
  /** h2load's mean time for a request. */
  meanMs: number;
}

/**
 * Runs h2load with `opts` (connections, streams, -n or -D) sending the framed
 * request in the file `body` to `method` of sr.v1; fails unless every request
 * succeeded (h2load does not read grpc-status: check correctness elsewhere).
 */
export async function h2load(address: string, method: string, body: string, opts: string[]): Promise<H2loadResult> {
  const proc = new Proc("h2load", "h2load", [...opts, "-H", "content-type: application/grpc", "-H", "te: trailers", "-d", body, `http://${address}${SR}/${method}`], {
    core: LOAD_CORE,
  });
  const code = await proc.exit();
  const out = proc.lines.join("\n");
  const done = /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(out);
  const rate = /finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(out);
  const mean = /time for request:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)/.exec(out);
  if (code !== 0 || !done || !rate || !mean || done[2] !== "0" || done[3] !== "0") throw new Error(`h2load failed (${code}):\n${out}\n${proc.stderr}`);
  const unit = { us: 1e-3, ms: 1, s: 1e3 }[mean[2] as "us" | "ms" | "s"];
  return { calls: Number(done[1]), callsPerS: Number(rate[1]), meanMs: Number(mean[1]) * unit };
}
