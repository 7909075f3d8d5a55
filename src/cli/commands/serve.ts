/**
 * `sr serve`: the server itself, in this process, with the flags of `npm start`
 * and the same process code (src/app/process.ts: configuration, start,
 * signals, SIGHUP reload); only a usage error exits 64 here, not 2.
 */
import type { Command } from "commander";
import { DEFAULT_HTTP } from "../../app/config.js";
import { runServerProcess } from "../../app/process.js";
import { DEFAULT_LISTEN } from "../../transport/listen.js";
import { examples } from "../context.js";
import { EXIT_FAILED, EXIT_USAGE } from "../exit.js";

interface ServeOptions {
  listen?: string;
  /** false: --no-http. */
  http?: string | false;
  config?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
  allowOpen?: boolean;
  logLevel?: string;
  logFormat?: string;
  dataDir?: string;
  etcd?: string;
}

/** The options back as `npm start` flags, for loadConfig (now and on every SIGHUP). */
function argvOf(opts: ServeOptions): string[] {
  const argv: string[] = [];
  const flags: [keyof ServeOptions, string][] = [
    ["listen", "--listen"],
    ["http", "--http"],
    ["config", "--config"],
    ["tlsCert", "--tls-cert"],
    ["tlsKey", "--tls-key"],
    ["tlsClientCa", "--tls-client-ca"],
    ["logLevel", "--log-level"],
    ["logFormat", "--log-format"],
    ["dataDir", "--data-dir"],
    ["etcd", "--etcd"],
  ];
  for (const [key, flag] of flags) {
    const value = opts[key];
    if (typeof value === "string") argv.push(flag, value);
  }
  if (opts.http === false) argv.push("--no-http");
  if (opts.allowOpen) argv.push("--allow-open");
  return argv;
}

export function serveCommand(program: Command): void {
  examples(
    program
      .command("serve")
      .summary("run the server (the same flags as npm start)")
      .description(
        "Runs the Status/Report gRPC server with its embedded in-memory registry, as `npm start` does.\n" +
          "SIGTERM or SIGINT stops it gracefully (exit 0), a second signal at once; SIGHUP reloads auth and tls.",
      )
      .option("--listen <HOST:PORT>", `gRPC address (default ${DEFAULT_LISTEN}; env SR_LISTEN; port 0 picks a free port)`)
      .option("--http <HOST:PORT>", `the HTTP listener: MI, /metrics, /healthz, /readyz (default ${DEFAULT_HTTP}; env SR_HTTP)`)
      .option("--no-http", "no HTTP listener")
      .option("--config <FILE>", "YAML configuration; flags override it")
      .option("--tls-cert <FILE>", "serve TLS with this PEM certificate chain")
      .option("--tls-key <FILE>", "its private key")
      .option("--tls-client-ca <FILE>", "require client certificates signed by this CA")
      .option("--allow-open", "with no token and no client CA, listen beyond loopback anyway")
      .option("--log-level <LEVEL>", "fatal, error, warn, info, debug, trace or silent (default info)")
      .option("--log-format <FORMAT>", "json or pretty (default pretty on a terminal, json when piped)")
      .option("--data-dir <DIR>", "keep the registry in SQLite in DIR (not with --etcd)")
      .option("--etcd <URL[,URL...]>", "share the registry with other replicas through etcd")
      .action((opts: ServeOptions) => runServerProcess(argvOf(opts), { usage: EXIT_USAGE, failed: EXIT_FAILED, printUsage: false })),
    ["sr serve", "sr serve --listen 0.0.0.0:50051 --config sr.yaml --tls-cert tls.crt --tls-key tls.key", "SR_LISTEN=127.0.0.1:0 sr serve"],
  );
}
