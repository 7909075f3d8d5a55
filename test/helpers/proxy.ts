import { type Server, type Socket, connect, createServer } from "node:net";

/**
 * A TCP proxy in front of a server, so a test can drop every connection
 * (as a network failure would) while the server and its registry live on.
 */
export interface Proxy {
  address: string;
  /** Destroys every open connection; new ones are accepted as before. */
  cut(): void;
  /** Sends new connections to another server from now on. */
  retarget(address: string): void;
  close(): Promise<void>;
}

export async function startProxy(target: string): Promise<Proxy> {
  let current = target;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(current.slice(current.lastIndexOf(":") + 1)), current.slice(0, current.lastIndexOf(":")));
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("proxy: no address");
  return {
    address: `127.0.0.1:${address.port}`,
    retarget: (address) => {
      current = address;
    },
    cut: () => {
      for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
