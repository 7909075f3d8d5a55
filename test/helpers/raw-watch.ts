import http2 from "node:http2";
import { WatchStatusRequest, WatchStatusResponse } from "../../gen/ts/sr/v1/sr.js";

/**
 * A WatchStatus call made at the HTTP/2 level, on a connection of its own,
 * that reads nothing until `resume()`: a reader that truly stops, whose flow
 * control window fills, as a stuck dashboard's would. (grpc-js's client keeps
 * buffering a paused call's messages in memory, so it cannot play this part.)
 */
export interface RawWatch {
  /** Starts reading again; decoded messages arrive in `events`. */
  resume(): void;
  readonly events: WatchStatusResponse[];
  /** The most messages that ended in one DATA chunk: above 1 when the server joined writes. */
  readonly mostMessagesInAChunk: number;
  close(): void;
}

export async function rawWatch(address: string, request: Partial<WatchStatusRequest>): Promise<RawWatch> {
  const session = http2.connect(`http://${address}`);
  session.on("error", () => {});
  const body = Buffer.from(WatchStatusRequest.encode(WatchStatusRequest.fromPartial(request)).finish());
  const frame = Buffer.alloc(5 + body.length);
  frame.writeUInt32BE(body.length, 1);
  body.copy(frame, 5);
  const stream = session.request({
    ":method": "POST",
    ":path": "/sr.v1.StatusReportService/WatchStatus",
    "content-type": "application/grpc",
    te: "trailers",
  });
  stream.on("error", () => {});
  stream.end(frame);
  stream.pause();
  await new Promise((resolve, reject) => {
    stream.once("response", resolve);
    stream.once("error", reject);
  });
  const events: WatchStatusResponse[] = [];
  let buffer = Buffer.alloc(0);
  let most = 0;
  return {
    events,
    get mostMessagesInAChunk() {
      return most;
    },
    resume() {
      stream.on("data", (chunk: Buffer) => {
        buffer = Buffer.concat([buffer, chunk]);
        let ended = 0;
        while (buffer.length >= 5 && buffer.length >= 5 + buffer.readUInt32BE(1)) {
          const length = buffer.readUInt32BE(1);
          events.push(WatchStatusResponse.decode(buffer.subarray(5, 5 + length)));
          buffer = buffer.subarray(5 + length);
          ended++;
        }
        most = Math.max(most, ended);
      });
      stream.resume();
    },
    close() {
      stream.close();
      session.destroy();
    },
  };
}
