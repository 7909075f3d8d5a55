/**
 * The server as a process: configuration from flags and the environment, the
 * start, and the signals (SIGTERM/SIGINT stop gracefully, a second exits at
 * once; SIGHUP reloads auth and tls from the same flags and file). Shared by
 * `npm start` (src/main.ts) and `sr serve`, which differ only in exit codes.
 */
import { ConfigError, USAGE, loadConfig } from "./config.js";
import { type RunningServer, startServer } from "./start.js";
import { type Logs, createLogs } from "./logging.js";

export interface ProcessExits {
  /** A configuration error: flags, the file, or what the registry refuses of it. */
  usage: number;
  /** Anything else that stops the start (a port taken, a certificate that does not load). */
  failed: number;
  /** Print the usage text after a configuration error. */
  printUsage: boolean;
}

function fail(message: string, code: number): never {
  console.error(`sr: ${message}`);
  process.exit(code);
}

export async function runServerProcess(argv: string[], exits: ProcessExits): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(argv, process.env);
  } catch (error) {
    if (error instanceof ConfigError) fail(exits.printUsage ? `${error.message}\n\n${USAGE}` : error.message, exits.usage);
    throw error;
  }
  if (config === "help") {
    process.stdout.write(USAGE);
    return;
  }
  // The plain lines (listening, signals, stopped) go through the logs' stream, in order with the log lines.
  const logs: Logs = await createLogs(config.log);
  const line = logs.line;
  process.on("exit", () => logs.flush());
  let server: RunningServer;
  try {
    server = await startServer(config, line, {
      logs,
      onFatal: (cause) => {
        line(`sr: stopped: ${cause}`);
        logs.flush();
        process.exit(exits.failed);
      },
    });
  } catch (error) {
    logs.flush();
    fail(`cannot start: ${(error as Error).message}`, error instanceof ConfigError ? exits.usage : exits.failed);
  }
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      line(`sr: ${signal} again, exiting now`);
      process.exit(1);
    }
    signalled = true;
    line(`sr: ${signal} received, shutting down (a second signal exits at once)`);
    void server.stop().then(() => {
      line("sr: stopped");
      process.exit(0);
    });
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  // Anything a reload refuses keeps what runs.
  process.on("SIGHUP", () => {
    try {
      const next = loadConfig(argv, process.env);
      if (next !== "help") server.reload(next);
      line("sr: SIGHUP: auth and tls reloaded");
    } catch (error) {
      line(`sr: SIGHUP: keeping the current auth and tls: ${(error as Error).message}`);
    }
  });
}
