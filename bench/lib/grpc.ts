/** The load's side of gRPC: raw calls with bytes encoded once, so client CPU stays off the figures as far as it can. */
import { Client, credentials } from "@grpc/grpc-js";

export const raw = (b: Buffer) => b;

/** gRPC's length-prefixed message (uncompressed), as h2load or a raw HTTP/2 request sends it. */
export function grpcFrame(message: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}
/** Each client its own TCP connection (grpc-js shares subchannels otherwise). */
export const OWN_CONNECTION = { "grpc.use_local_subchannel_pool": 1, "grpc.max_receive_message_length": 64 * 1024 * 1024 };

export function connect(address: string): Client {
  return new Client(address, credentials.createInsecure(), OWN_CONNECTION);
}

/** `count` clients, each its own connection, ready before the clock starts. */
export async function connectAll(address: string, count: number): Promise<Client[]> {
  const clients = Array.from({ length: count }, () => connect(address));
  await Promise.all(
    clients.map((c) => new Promise<void>((resolve, reject) => c.waitForReady(Date.now() + 30_000, (e) => (e ? reject(e) : resolve())))),
  );
  return clients;
}

/** One unary call with an already encoded request; resolves with the encoded response. */
export function unary(client: Client, method: string, request: Buffer, timeoutMs = 60_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(method, raw, raw, request, { deadline: Date.now() + timeoutMs }, (error, response) =>
      error ? reject(error) : resolve(response as Buffer),
    );
  });
}

export const SR = "/sr.v1.StatusReportService";
/** The service the grpc-health-check baseline serves and its watchers watch. */
export const HEALTH_SERVICE = "bench";
