/** The reads: status, get, check, reports, identifiers. */
import type { Command } from "commander";
import type { CheckStatusResponse, GroupIdentifiers, GroupReports, GroupStatus } from "../../../clients/ts/index.js";
import { type Context, examples, nameOf, run } from "../context.js";
import { CHECK_EXIT, EXIT_OK, isNotFound } from "../exit.js";
import { render, table } from "../output.js";
import { REPORT_HEADER, readiness, reportRow, statusTable } from "../views.js";

/** Every page of a listing, in order, and the revision of the first. */
async function allPages<T>(
  fetch: (pageToken: string) => Promise<{ groups: T[]; revision: bigint; nextPageToken: string }>,
): Promise<{ revision: bigint; groups: T[] }> {
  const first = await fetch("");
  const groups = [...first.groups];
  for (let token = first.nextPageToken; token !== ""; ) {
    const page = await fetch(token);
    groups.push(...page.groups);
    token = page.nextPageToken;
  }
  return { revision: first.revision, groups };
}

async function status(ctx: Context, [group]: (string | undefined)[]): Promise<number> {
  const sr = ctx.client();
  const listing = await allPages<GroupStatus>((pageToken) => sr.listStatus({ group: group ?? "", pageToken }, ctx.call));
  ctx.out(render(ctx.format, listing, () => statusTable(listing.groups.flatMap((g) => g.identifiers), ctx.paint)));
  return EXIT_OK;
}

async function get(ctx: Context, [group, identifier]: (string | undefined)[]): Promise<number> {
  const answer = await ctx.client().getStatus({ group, identifier: identifier ?? "" }, ctx.call);
  ctx.out(render(ctx.format, answer, () => statusTable(answer.status ? [answer.status] : [], ctx.paint)));
  return EXIT_OK;
}

async function check(ctx: Context, [group, identifier]: (string | undefined)[]): Promise<number> {
  const answer: CheckStatusResponse = await ctx.client().checkStatus({ group, identifier: identifier ?? "" }, ctx.call);
  const name = nameOf(group as string, identifier);
  ctx.out(render(ctx.format, answer, () => `${name}: ${readiness(answer.ready, ctx.paint)} (status ${answer.status})\n`));
  return answer.ready ? CHECK_EXIT.ready : CHECK_EXIT.notReady;
}

async function reports(ctx: Context, [group, identifier]: (string | undefined)[]): Promise<number> {
  const sr = ctx.client();
  const listing = await allPages<GroupReports>((pageToken) => sr.listReports({ group: group ?? "", identifier: identifier ?? "", pageToken }, ctx.call));
  const rows = listing.groups.flatMap((g) => g.identifiers.flatMap((id) => id.reports.map((r) => reportRow(g.group, id.identifier, r))));
  ctx.out(render(ctx.format, listing, () => table(REPORT_HEADER, rows)));
  return EXIT_OK;
}

async function identifiers(ctx: Context, [group]: (string | undefined)[]): Promise<number> {
  const sr = ctx.client();
  const listing = await allPages<GroupIdentifiers>((pageToken) => sr.listIdentifiers({ group: group ?? "", pageToken }, ctx.call));
  const rows = listing.groups.flatMap((g) => g.identifiers.map((id) => [g.group, id, g.internal ? "internal" : ""]));
  ctx.out(render(ctx.format, listing, () => table(["GROUP", "IDENTIFIER", "KIND"], rows)));
  return EXIT_OK;
}

export function readCommands(program: Command): void {
  examples(
    program
      .command("status")
      .summary("list statuses: every group's, or one group's")
      .description("Lists the status of every identifier of every group (internal ones such as core included), or of GROUP's.")
      .argument("[GROUP]", "only this group")
      .action(run(status)),
    ["sr status", "sr status billing", "sr status -o json | jq '.groups[].identifiers[] | select(.ready | not)'"],
  );
  examples(
    program
      .command("get")
      .summary("one identifier's status, or the group aggregated with `all`")
      .description("Reads the status of IDENTIFIER (default main) of GROUP; `all` is the group aggregated (not ready when any identifier is below zero).")
      .argument("<GROUP>")
      .argument("[IDENTIFIER]", "an identifier, or `all` (default main)")
      .action(run(get)),
    ["sr get billing", "sr get billing db", "sr get billing all -o yaml"],
  );
  examples(
    program
      .command("check")
      .summary("readiness as the exit code: 0 ready, 1 not ready, 2 not found, 3 error")
      .description(
        "Checks readiness of IDENTIFIER (default main) or of the group aggregated (`all`).\n" +
          "Exit code: 0 ready, 1 not ready, 2 group or identifier not found, 3 any other error, 64 usage error.",
      )
      .argument("<GROUP>")
      .argument("[IDENTIFIER]", "an identifier, or `all` (default main)")
      .action(run(check, (error) => (isNotFound(error) ? CHECK_EXIT.notFound : CHECK_EXIT.error))),
    ["sr check billing all && echo ready", "sr check billing db -o json"],
  );
  examples(
    program
      .command("reports")
      .summary("list reports: every group's, one group's or one identifier's")
      .description("Lists the reports (oldest first) of every identifier, of GROUP's, or of GROUP's IDENTIFIER.")
      .argument("[GROUP]", "only this group")
      .argument("[IDENTIFIER]", "only this identifier of GROUP")
      .action(run(reports)),
    ["sr reports", "sr reports billing db", "sr reports billing -o json"],
  );
  examples(
    program
      .command("identifiers")
      .summary("list identifiers: every group's, or one group's")
      .description("Lists the identifiers of every group, or of GROUP.")
      .argument("[GROUP]", "only this group")
      .action(run(identifiers)),
    ["sr identifiers", "sr identifiers billing -o yaml"],
  );
}
