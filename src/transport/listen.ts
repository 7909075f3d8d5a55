/**
 * Listen addresses and TLS files: what the configuration names and the
 * listeners bind, kept here so that both the app and the transports use it
 * without the transports importing the app.
 */
import { BlockList, isIP } from "node:net";

/** The gRPC address of `npm start`, and the one the `sr` command calls, unless told otherwise. */
export const DEFAULT_LISTEN = "127.0.0.1:50051";

/** Where a listener's TLS material is (PEM files). */
export interface TlsConfig {
  cert: string;
  key: string;
  clientCa?: string | undefined;
  /** How often the files are re-read for a rotated certificate (default 10 s). */
  reloadIntervalMs?: number | undefined;
}

const LISTEN = /^(\[[^\]]+\]|[^:[\]]+):(\d+)$/;

/** A listen address taken apart: `host` as written (IPv6 in brackets), `bindHost` without them. */
export interface ListenAddress {
  host: string;
  bindHost: string;
  port: number;
}

/** HOST:PORT (IPv6 hosts in brackets), port 0..65535 (0 picks a free one); undefined when malformed. */
export function splitListen(value: string): ListenAddress | undefined {
  const match = LISTEN.exec(value);
  if (!match || Number(match[2]) > 65535) return undefined;
  const host = match[1] as string;
  return { host, bindHost: host.startsWith("[") ? host.slice(1, -1) : host, port: Number(match[2]) };
}


const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");

/** True for 127.0.0.0/8, ::1 (in any spelling, IPv4-mapped too) and `localhost`: what only this machine reaches. */
export function isLoopback(address: ListenAddress): boolean {
  const host = address.bindHost.toLowerCase();
  if (host === "localhost") return true;
  const family = isIP(host);
  return family !== 0 && LOOPBACK.check(host, family === 6 ? "ipv6" : "ipv4");
}
