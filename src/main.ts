import { startServer } from "./app/start.js";
import { ConfigError, USAGE, loadConfig } from "./app/config.js";

/** The server process: configuration, logging and signals (the README). */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.argv.slice(2), process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`sr: ${error.message}\n\n${USAGE}`);
      process.exit(2);
    }
    throw error;
  }
  if (config === "help") {
    process.stdout.write(USAGE);
    return;
  }
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer(config);
  } catch (error) {
    // A configuration the registry refuses (groups) is a usage error like any other: exit 2.
    console.error(`sr: cannot start: ${(error as Error).message}`);
    process.exit(error instanceof ConfigError ? 2 : 1);
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
  // SIGHUP reloads auth and tls from the same flags and file; anything refused keeps what runs.
  process.on("SIGHUP", () => {
    try {
      const next = loadConfig(process.argv.slice(2), process.env);
      if (next !== "help") server.reload(next);
      console.log("sr: SIGHUP: auth and tls reloaded");
    } catch (error) {
      console.log(`sr: SIGHUP: keeping the current auth and tls: ${(error as Error).message}`);
    }
  });
}

void main();
