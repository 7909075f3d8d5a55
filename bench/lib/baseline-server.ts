/**
 * The baselines our server is measured beside, each a plain grpc-js server in a
 * process of its own (started by procs.ts `startBaseline`, pinned like ours):
 *
 *   bare-unary FILE  answers each method named in FILE (JSON: path -> base64
 *                    response) with those bytes, without decoding the request:
 *                    grpc-js's own cost for messages of our sizes.
 *   bare-stream      WatchStatus that sends a `last` snapshot, and SetStatus that
 *                    encodes one StatusChanged message per call and writes the
 *                    same bytes to every open stream: grpc-js's limit for fan-out.
 *   health           grpc-health-check's HealthImplementation, with SetStatus
 *                    mapped onto its setStatus (it has no write RPC of its own).
 *
 * The writer and the watchers use the same SetStatus and WatchStatus paths for
 * ours and these, so the load code is the same on every side.
 */
import { readFileSync } from "node:fs";
import { Server, ServerCredentials, type ServerWritableStream, type sendUnaryData } from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import { SetStatusRequest, SetStatusResponse, WatchStatusResponse } from "../../gen/ts/sr/v1/sr.js";
import { HEALTH_SERVICE, SR, raw } from "./grpc.js";

type Unary = (call: { request: Buffer }, callback: sendUnaryData<Buffer>) => void;

const [kind, arg] = process.argv.slice(2);
const server = new Server({ "grpc.max_concurrent_streams": 2 ** 31 - 1 });
const unary = (path: string, handler: Unary) => server.register(path, handler, raw, raw, "unary");

if (kind === "bare-unary") {
  const answers = JSON.parse(readFileSync(arg as string, "utf8")) as Record<string, string>;
  for (const [path, base64] of Object.entries(answers)) {
    const answer = Buffer.from(base64, "base64");
    unary(path, (_call, callback) => callback(null, answer));
  }
} else if (kind === "bare-stream") {
  const streams = new Set<ServerWritableStream<Buffer, Buffer>>();
  let revision = 1n;
  const last = WatchStatusResponse.fromPartial({ event: { $case: "snapshot", value: { last: true } } });
  server.register(
    `${SR}/WatchStatus`,
    (call: ServerWritableStream<Buffer, Buffer>) => {
      streams.add(call);
      call.on("cancelled", () => streams.delete(call));
      call.write(Buffer.from(WatchStatusResponse.encode({ ...last, revision }).finish()));
    },
    raw,
    raw,
    "serverStream",
  );
  const ok = Buffer.from(SetStatusResponse.encode(SetStatusResponse.fromPartial({ changed: true })).finish());
  unary(`${SR}/SetStatus`, (call, callback) => {
    const request = SetStatusRequest.decode(call.request);
    revision += 1n;
    const message = Buffer.from(
      WatchStatusResponse.encode({
        revision,
        event: {
          $case: "statusChanged",
          value: { group: request.group, identifier: request.identifier, status: request.status, oldStatus: -request.status, ready: request.status > 0 },
        },
      }).finish(),
    );
    // The limit: no backpressure, no queue, no filter, one buffer for all.
    for (const stream of streams) stream.write(message);
    callback(null, ok);
  });
} else if (kind === "health") {
  const health = new HealthImplementation({ [HEALTH_SERVICE]: "SERVING" });
  health.addToServer(server);
  const ok = Buffer.from(SetStatusResponse.encode(SetStatusResponse.fromPartial({ changed: true })).finish());
  unary(`${SR}/SetStatus`, (call, callback) => {
    health.setStatus(HEALTH_SERVICE, SetStatusRequest.decode(call.request).status > 0 ? "SERVING" : "NOT_SERVING");
    callback(null, ok);
  });
} else {
  throw new Error(`usage: baseline-server.ts bare-unary FILE | bare-stream | health (not '${kind}')`);
}

server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  console.log(`${kind}: listening on 127.0.0.1:${port}`);
});
