/**
 * `sr serve`: the server itself, in this process, with the flags of `npm start`
 * (src/main.ts): the same configuration (loadConfig), the same start
 * (startServer), signals and SIGHUP reload; only a usage error exits 64 here.
 */
import type { Command } from "commander";
import { ConfigError, type ServerConfig, loadConfig } from "../../app/config.js";
import { startServer } from "../../app/start.js";
import { examples } from "../context.js";
import { EXIT_FAILED, EXIT_USAGE } from "../exit.js";

interface ServeOptions {
  listen?: string;
  http?: string;
  config?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
  allowOpen?: boolean;
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
  ];
  for (const [key, flag] of flags) {
    const value = opts[key];
    if (typeof value === "string") argv.push(flag, value);
  }
  if (opts.allowOpen) argv.push("--allow-open");
  return argv;
}

function fail(message: string, code: number): never {
  console.error(`sr: ${message}`);
  process.exit(code);
}

async function serve(opts: ServeOptions): Promise<void> {
  const argv = argvOf(opts);
  let config: ServerConfig | "help";
  try {
    config = loadConfig(argv, process.env);
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message, EXIT_USAGE);
    throw error;
  }
  if (config === "help") return;
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer(config);
  } catch (error) {
    fail(`cannot start: ${(error as Error).message}`, error instanceof ConfigError ? EXIT_USAGE : EXIT_FAILED);
  }
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      console.log(`sr: ${signal} again, exiting now`);
      process.exit(1);
    }
    signalled = true;
    console.log(`sr: ${signal} received, shutting down (a second signal exits at once)`);
    void server.stop().then(() => {
      console.log("sr: stopped");
      process.exit(0);
    });
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  process.on("SIGHUP", () => {
    try {
      const next = loadConfig(argv, process.env);
      if (next !== "help") server.reload(next);
      console.log("sr: SIGHUP: auth and tls reloaded");
    } catch (error) {
      console.log(`sr: SIGHUP: keeping the current auth and tls: ${(error as Error).message}`);
    }
  });
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
      .option("--listen <HOST:PORT>", "gRPC address (default 127.0.0.1:50051; env SR_LISTEN; port 0 picks a free port)")
      .option("--http <HOST:PORT>", "also serve the OpenSIPS MI JSON-RPC over HTTP at /mi (env SR_HTTP)")
      .option("--config <FILE>", "YAML configuration; flags override it")
      .option("--tls-cert <FILE>", "serve TLS with this PEM certificate chain")
      .option("--tls-key <FILE>", "its private key")
      .option("--tls-client-ca <FILE>", "require client certificates signed by this CA")
      .option("--allow-open", "with no token and no client CA, listen beyond loopback anyway")
      .action((opts: ServeOptions) => serve(opts)),
    ["sr serve", "sr serve --listen 0.0.0.0:50051 --config sr.yaml --tls-cert tls.crt --tls-key tls.key", "SR_LISTEN=127.0.0.1:0 sr serve"],
  );
}
