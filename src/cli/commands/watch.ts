/** `watch`: the live stream, one line per change, resuming by itself after a dropped connection. */
import { type Command, Option } from "commander";
import type { WatchStatusResponse } from "../../../clients/ts/index.js";
import { revisionArg } from "../args.js";
import { type Context, examples, nameOf, run } from "../context.js";
import { EXIT_OK } from "../exit.js";
import { type Paint, renderLine, safeText } from "../output.js";
import { readiness, timeText } from "../views.js";

interface WatchOptions {
  since?: bigint;
  reports: boolean;
  registrations: boolean;
}

/** One record per line: its kind, what it names, and what changed. */
interface Line {
  revision: bigint;
  type: "snapshot" | "status" | "report" | "registered" | "unregistered";
  group: string;
  identifier: string;
  status?: number;
  oldStatus?: number;
  ready?: boolean;
  details?: string;
  sequence?: bigint;
  time?: Date;
  text?: string;
  resync?: boolean;
}

/** The lines of one message (a snapshot part gives one per identifier; progress none). */
export function linesOf(message: WatchStatusResponse): Line[] {
  const { revision, event } = message;
  switch (event?.$case) {
    case "snapshot":
      return event.value.identifiers.map((s) => ({
        revision,
        type: "snapshot",
        group: s.group,
        identifier: s.identifier,
        status: s.status,
        ready: s.ready,
        details: s.details,
        ...(event.value.resync ? { resync: true } : {}),
      }));
    case "statusChanged": {
      const v = event.value;
      return [{ revision, type: "status", group: v.group, identifier: v.identifier, status: v.status, oldStatus: v.oldStatus, ready: v.ready, details: v.details }];
    }
    case "reportAdded": {
      const v = event.value;
      return [{ revision, type: "report", group: v.group, identifier: v.identifier, sequence: v.report?.sequence, time: v.report?.time, text: v.report?.text }];
    }
    case "registered": {
      const v = event.value;
      return [{ revision, type: "registered", group: v.group, identifier: v.identifier, status: v.status, ready: v.ready, details: v.details }];
    }
    case "unregistered":
      return [{ revision, type: "unregistered", group: event.value.group, identifier: event.value.identifier }];
    default:
      return [];
  }
}

function human(line: Line, paint: Paint): string {
  const head = `${String(line.revision).padStart(6)}  ${line.type.padEnd(12)}  ${nameOf(line.group, line.identifier)}`;
  if (line.type === "report") return `${head}  #${line.sequence} ${timeText(line.time)} ${safeText(line.text ?? "")}`;
  if (line.type === "unregistered") return head;
  const was = line.oldStatus === undefined ? "" : ` (was ${line.oldStatus})`;
  const details = line.details === undefined ? "" : `  ${safeText(line.details)}`;
  return `${head}  ${line.status}${was}  ${readiness(line.ready ?? false, paint)}${details}`;
}

async function watch(ctx: Context, [group, identifier]: (string | undefined)[], opts: WatchOptions): Promise<number> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  // A reader that went away (`sr watch | head -1`) ends the watch quietly.
  process.stdout.on("error", onSignal);
  try {
    const request = {
      group: group ?? "",
      identifier: identifier ?? "",
      startRevision: opts.since,
      includeDetails: true,
      includeReports: opts.reports,
      includeRegistrations: opts.registrations,
    };
    const onResync = () => process.stderr.write("sr: the history no longer reaches back: a fresh snapshot follows\n");
    for await (const message of ctx.client().watch(request, { signal: stop.signal, onResync })) {
      for (const line of linesOf(message)) ctx.out(renderLine(ctx.format, line, () => human(line, ctx.paint)));
    }
    return EXIT_OK;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

export function watchCommand(program: Command): void {
  examples(
    program
      .command("watch")
      .summary("stream every change, live, one line per change (Ctrl-C stops)")
      .description(
        "Prints the current statuses (type snapshot), then one line per change as it happens: status, report, registered, unregistered.\n" +
          "A dropped connection is resumed after the last revision printed, so nothing is missed or repeated; -o json prints one JSON object per line.",
      )
      .argument("[GROUP]", "only this group")
      .argument("[IDENTIFIER]", "only this identifier of GROUP")
      .addOption(new Option("--since <REVISION>", "resume after this revision instead of starting with a snapshot").argParser(revisionArg))
      .option("--no-reports", "leave reports out")
      .option("--no-registrations", "leave registrations and removals out")
      .action(run(watch)),
    ["sr watch", "sr watch billing", "sr watch billing db -o json | jq -c 'select(.type == \"status\")'", "sr watch --since 42"],
  );
}
