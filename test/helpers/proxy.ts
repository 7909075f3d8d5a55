import { type Server, type Socket, connect, createServer } from "node:net";

/**
 * A TCP proxy in front of a server, so a test can drop every connection
 * (as a network failure would) while the server and its registry live on.
 */
export interface Proxy {
  address: string;
  /** Destroys every open connection; new ones are accepted as before. */
  cut(): void;
  /**
   * Destroys every open connection and stops listening, so reconnection
   * attempts are refused (a server gone away) until `accept()`.
   */
  drop(): Promise<void>;
  /** Listens again, on the same address, after a `drop()`. */
  accept(): Promise<void>;
  /** Sends new connections to another server from now on. */
  retarget(address: string): void;
  close(): Promise<void>;
}

function hostAndPort(address: string): [string, number] {
  const colon = address.lastIndexOf(":");
  return [address.slice(0, colon), Number(address.slice(colon + 1))];
}

export async function startProxy(target: string): Promise<Proxy> {
  let current = target;
  const sockets = new Set<Socket>();
  const relay = (client: Socket) => {
    const [host, port] = hostAndPort(current);
    const upstream = connect(port, host);
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
  };
  const cut = () => {
    for (const s of sockets) s.destroy();
  };

  let server: Server | undefined;
  let port = 0; // 0 until the first listen; then the same port on every accept()
  const accept = async (): Promise<void> => {
    if (server) return;
    const listening = createServer(relay);
    await new Promise<void>((resolve, reject) => {
      listening.once("error", reject);
      listening.listen(port, "127.0.0.1", () => resolve());
    });
    const address = listening.address();
    if (address === null || typeof address === "string") throw new Error("proxy: no address");
    port = address.port;
    server = listening;
  };
  const drop = async (): Promise<void> => {
    const closing = server;
    server = undefined;
    const closed = closing ? new Promise<void>((resolve) => closing.close(() => resolve())) : Promise.resolve();
    cut();
    await closed;
  };

  await accept();
  return {
    address: `127.0.0.1:${port}`,
    retarget: (address) => {
      current = address;
    },
    cut,
    drop,
    accept,
    close: drop,
  };
}
