/**
 * The client options every command but `serve` takes (`--server`, `--token`,
 * `--ca`, `--cert`, `--key`, `--tls`, `--timeout`) and the clients made from
 * them: the service's SrClient and a grpc.health.v1 client on the same terms.
 */
import { readFileSync } from "node:fs";
import { type ChannelCredentials, Metadata, credentials } from "@grpc/grpc-js";
import { type Command, Option } from "commander";
import { SrClient } from "../../clients/ts/index.js";
import { HealthClient } from "../../gen/ts/health/v1/health.js";
import { durationMsOf } from "./args.js";
import { DEFAULT_LISTEN } from "../transport/listen.js";
import { UsageError } from "./exit.js";

export const DEFAULT_SERVER = DEFAULT_LISTEN;
const DEFAULT_TIMEOUT = "10s";

export interface ClientOptions {
  server: string;
  token?: string;
  ca?: string;
  cert?: string;
  key?: string;
  tls?: boolean;
  timeout: number;
}

export function addClientOptions(program: Command): void {
  program
    .addOption(new Option("--server <HOST:PORT>", "the server's gRPC address").env("SR_SERVER").default(DEFAULT_SERVER))
    .addOption(new Option("--token <TOKEN>", "bearer token sent with every call").env("SR_TOKEN"))
    .addOption(new Option("--ca <FILE>", "TLS: trust this CA (PEM) for the server's certificate"))
    .addOption(new Option("--cert <FILE>", "TLS: client certificate chain (PEM), with --key"))
    .addOption(new Option("--key <FILE>", "TLS: the client certificate's private key (PEM)"))
    .addOption(new Option("--tls", "TLS trusting the system's CAs (implied by --ca, --cert and --key)"))
    .addOption(
      new Option("--timeout <DURATION>", "deadline of each call (watch: of none)")
        .default(durationMsOf(DEFAULT_TIMEOUT), DEFAULT_TIMEOUT)
        .argParser(durationMsOf),
    );
}

function readPem(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new UsageError(`${flag}: cannot read ${file}: ${(error as Error).message}`);
  }
}

/** Plaintext unless a TLS option is given. */
export function credentialsOf(options: ClientOptions): ChannelCredentials {
  if ((options.cert === undefined) !== (options.key === undefined)) throw new UsageError("--cert and --key: a client certificate needs both");
  if (!options.tls && options.ca === undefined && options.cert === undefined) return credentials.createInsecure();
  const ca = options.ca === undefined ? null : readPem(options.ca, "--ca");
  const key = options.key === undefined ? null : readPem(options.key, "--key");
  const cert = options.cert === undefined ? null : readPem(options.cert, "--cert");
  return credentials.createSsl(ca, key, cert);
}

export function srClientOf(options: ClientOptions): SrClient {
  return new SrClient(options.server, { credentials: credentialsOf(options), token: options.token });
}

export function healthClientOf(options: ClientOptions): HealthClient {
  return new HealthClient(options.server, credentialsOf(options));
}

/** The bearer token as metadata (for the health client; SrClient adds its own). */
export function metadataOf(options: ClientOptions): Metadata {
  const metadata = new Metadata();
  if (options.token) metadata.set("authorization", `Bearer ${options.token}`);
  return metadata;
}
