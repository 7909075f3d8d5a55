/** The writes: register, unregister, set, report. */
import { type Command, Option } from "commander";
import { type DurationValue, countArg, durationArg, statusArg } from "../args.js";
import { type Context, examples, nameOf, run } from "../context.js";
import { EXIT_OK } from "../exit.js";
import { render } from "../output.js";

interface RegisterOptions {
  status?: number;
  details?: string;
  capacity?: number;
  ttl?: DurationValue;
  removeAfter?: DurationValue;
}

async function register(ctx: Context, [group, identifier]: (string | undefined)[], opts: RegisterOptions): Promise<number> {
  const sr = ctx.client();
  const fields = { status: opts.status, details: opts.details, reportCapacity: opts.capacity, ttl: opts.ttl, removeAfter: opts.removeAfter };
  const answer =
    identifier === undefined
      ? await sr.registerGroup({ group, ...fields }, ctx.call)
      : await sr.registerIdentifier({ group, identifier, ...fields }, ctx.call);
  const name = identifier === undefined ? `group ${group}` : nameOf(group as string, identifier);
  const what = answer.created ? `registered ${name}` : `${name} was already registered`;
  ctx.out(render(ctx.format, answer, () => `${what} (revision ${answer.revision})\n`));
  return EXIT_OK;
}

async function unregister(ctx: Context, [group, identifier]: (string | undefined)[]): Promise<number> {
  const sr = ctx.client();
  const answer =
    identifier === undefined ? await sr.unregisterGroup({ group }, ctx.call) : await sr.unregisterIdentifier({ group, identifier }, ctx.call);
  const name = identifier === undefined ? `group ${group}` : nameOf(group as string, identifier);
  ctx.out(render(ctx.format, answer, () => `unregistered ${name} (revision ${answer.revision})\n`));
  return EXIT_OK;
}

interface SetOptions {
  ttl?: DurationValue;
  removeAfter?: DurationValue;
}

async function set(ctx: Context, params: (string | undefined)[], opts: SetOptions): Promise<number> {
  const [group, identifier, statusValue, details] = params as [string, string, unknown, string | undefined];
  const status = statusValue as number;
  const answer = await ctx.client().setStatus({ group, identifier, status, details, ttl: opts.ttl, removeAfter: opts.removeAfter }, ctx.call);
  const name = nameOf(group, identifier);
  const what = answer.changed ? `${name}: status ${status} (was ${answer.oldStatus})` : `${name}: status ${status}, unchanged`;
  ctx.out(render(ctx.format, answer, () => `${what} (revision ${answer.revision})\n`));
  return EXIT_OK;
}

async function report(ctx: Context, [group, identifier, text]: (string | undefined)[]): Promise<number> {
  const answer = await ctx.client().addReport({ group, identifier, text }, ctx.call);
  const name = nameOf(group as string, identifier);
  ctx.out(render(ctx.format, answer, () => `${name}: report ${answer.sequence} added (revision ${answer.revision})\n`));
  return EXIT_OK;
}

const ttlOption = () => new Option("--ttl <DURATION>", "arm a lease: unless set again within it, the status turns to the server's expired status (-1 by default) (30s, 2m, or seconds)").argParser(durationArg);
const removeAfterOption = () =>
  new Option("--remove-after <DURATION>", "with a lease: remove the identifier this long after it ran out").argParser(durationArg);

export function writeCommands(program: Command): void {
  examples(
    program
      .command("register")
      .summary("register a group (with its main identifier), or an identifier of a group")
      .description("Registers GROUP (it gets its `main` identifier), or IDENTIFIER in GROUP. Registering again what exists changes nothing.")
      .argument("<GROUP>")
      .argument("[IDENTIFIER]", "register this identifier in GROUP instead of the group itself")
      .addOption(new Option("--status <N>", "initial status (> 0 ready, < 0 not ready)").argParser(statusArg))
      .option("--details <TEXT>", "initial details")
      .addOption(new Option("--capacity <N>", "report capacity, 0 to 32767 (default 50)").argParser(countArg))
      .addOption(ttlOption())
      .addOption(removeAfterOption())
      .action(run(register)),
    [
      "sr register billing --status -1 --details 'warming up'",
      "sr register billing db --capacity 100",
      "sr register jobs worker-1 --status 1 --ttl 30s --remove-after 10m",
    ],
  );
  examples(
    program
      .command("unregister")
      .summary("remove a group, or one identifier of it")
      .description("Removes GROUP with all its identifiers, or only IDENTIFIER of GROUP.")
      .argument("<GROUP>")
      .argument("[IDENTIFIER]", "remove only this identifier")
      .action(run(unregister)),
    ["sr unregister billing db", "sr unregister billing"],
  );
  examples(
    program
      .command("set")
      .summary("set a status (and details); a negative STATUS such as -1 is a value")
      .description("Sets the status of GROUP's IDENTIFIER (main for the group's own), replacing its details (none when DETAILS is left out).")
      .argument("<GROUP>")
      .argument("<IDENTIFIER>", "the identifier (main for the group's own)")
      .argument("<STATUS>", "non-zero integer: > 0 ready, < 0 not ready", statusArg)
      .argument("[DETAILS]", "details text")
      .addOption(ttlOption())
      .addOption(removeAfterOption())
      .action(run(set)),
    ["sr set billing main 1 ready", "sr set billing db -1 'primary lost'", "sr set jobs worker-1 1 --ttl 30s"],
  );
  examples(
    program
      .command("report")
      .summary("add a report to an identifier")
      .description("Adds TEXT as a timestamped report of GROUP's IDENTIFIER (its ring drops the oldest when full).")
      .argument("<GROUP>")
      .argument("<IDENTIFIER>", "the identifier (main for the group's own)")
      .argument("<TEXT>", "the report, at most 2048 bytes")
      .action(run(report)),
    ["sr report billing db 'connected to primary'"],
  );
}
