#!/usr/bin/env node
/**
 * `sr`: the command line of the Status/Report service (the README, "The sr
 * command"). The command table is here; each group of commands lives in
 * commands/, output in output.ts, connection options in connect.ts, exit codes
 * in exit.ts.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Command, CommanderError, Option } from "commander";
import { adminCommands } from "./commands/admin.js";
import { healthCommand } from "./commands/health.js";
import { readCommands } from "./commands/read.js";
import { serveCommand } from "./commands/serve.js";
import { watchCommand } from "./commands/watch.js";
import { writeCommands } from "./commands/write.js";
import { addClientOptions } from "./connect.js";
import { EXIT_OK, EXIT_USAGE } from "./exit.js";
import { FORMATS } from "./output.js";

/** The package's version: the nearest package.json above this file (src/cli/ or dist/src/cli/). */
function version(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "status-report-service" && pkg.version) return pkg.version;
    } catch {
      // not here
    }
    if (path.dirname(dir) === dir) return "unknown";
  }
}

export function program(): Command {
  const sr = new Command("sr")
    .description("The Status/Report service from the command line: read, check, publish and watch statuses, or run the server.")
    .version(version(), "--version", "print the version")
    // Settings inherited by the commands added below: usage errors throw (exit 64), help shows the client options.
    .exitOverride()
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .showSuggestionAfterError()
    .addOption(new Option("-o, --output <FORMAT>", "output format").choices(FORMATS).default("table"));
  addClientOptions(sr);
  readCommands(sr);
  writeCommands(sr);
  watchCommand(sr);
  healthCommand(sr);
  adminCommands(sr);
  serveCommand(sr);
  sr.addHelpText(
    "after",
    `
Exit codes: 0 success, 1 a failed call, 64 a usage error; check: 0 ready, 1 not ready, 2 not found, 3 error;
health: 0 serving, 4 not serving, 3 unknown or failed, 2 no connection. \`sr COMMAND --help\` shows each command.

Examples:
  sr status
  sr register billing --status -1 --details 'warming up'
  sr set billing main 1 ready
  sr check billing all && echo ready
  SR_SERVER=sr.example.net:50051 SR_TOKEN=... sr watch billing --ca ca.pem
`,
  );
  return sr;
}

async function main(): Promise<void> {
  // A reader that went away (`sr status | head -1`) ends the output, not with a stack trace.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    process.exit(process.exitCode ?? EXIT_OK);
  });
  try {
    await program().parseAsync(process.argv);
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    // --help and --version exit 0; anything commander refused is a usage error.
    process.exitCode = error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  }
}

void main();
