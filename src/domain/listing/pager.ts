/**
 * ListStatus, ListIdentifiers and ListReports: one pager (AIP-158) over the
 * registry in list order. A page holds `page_size` entries: an identifier
 * (a report, for ListReports, where an identifier without reports is one
 * too), or a group without identifiers. It ends early rather than pass
 * MAX_PAGE_BYTES, and a group or identifier split across pages repeats its
 * header on the next.
 */
import { identifierSortKey } from "../names.js";
import type { ReportEntry } from "../report-ring.js";
import type {
  GroupIdentifiersPage,
  GroupRecord,
  GroupReportsPage,
  GroupStatusPage,
  IdentifierRecord,
  Page,
  PageRequest,
  RegistryReader,
} from "../registry/types.js";
import { statusView } from "../registry/views.js";
import {
  GROUP_LISTED,
  LISTED_WHOLE,
  type PagePosition,
  type PageScope,
  decodePageToken,
  encodePageToken,
  resolvePageSize,
} from "./page-token.js";
import { LIST_SELECTION, type SelectionInput, parseSelection } from "./selection.js";
import { MAX_PAGE_BYTES, estimateHeaderBytes, estimateNameBytes, estimateReportBytes, estimateViewBytes } from "./sizes.js";
import { requireSelected, walk } from "./walk.js";

export interface ListRequest extends PageRequest {
  /** "" for every group. */
  group: string;
}

export interface ListReportsRequest extends ListRequest {
  /** "" for every identifier. */
  identifier: string;
}

/** What one listing puts on a page for a group and for each of its identifiers. */
interface PageShape<G extends { group: string }> {
  list: PageScope["list"];
  header(group: GroupRecord): G;
  /** Adds the identifier; returns its estimated bytes and, for ListReports, where its reports go. */
  add(page: G, group: GroupRecord, identifier: IdentifierRecord): { bytes: number; reports?: ReportEntry[] };
  /** ListReports only: the identifier's reports after a sequence, each one entry. */
  reportsAfter?(identifier: IdentifierRecord, sequence: number): ReportEntry[];
}

const STATUS: PageShape<GroupStatusPage> = {
  list: "status",
  header: (group) => ({ group: group.name, internal: group.internal, identifiers: [] }),
  add(page, group, identifier) {
    const view = statusView(group, identifier);
    page.identifiers.push(view);
    return { bytes: estimateViewBytes(view) };
  },
};

const IDENTIFIERS: PageShape<GroupIdentifiersPage> = {
  list: "identifiers",
  header: (group) => ({ group: group.name, internal: group.internal, identifiers: [] }),
  add(page, _group, identifier) {
    page.identifiers.push(identifier.name);
    return { bytes: estimateNameBytes(identifier.name) };
  },
};

const REPORTS: PageShape<GroupReportsPage> = {
  list: "reports",
  header: (group) => ({ group: group.name, identifiers: [] }),
  add(page, _group, identifier) {
    const entry = { identifier: identifier.name, capacity: identifier.reports.capacity, reports: [] as ReportEntry[] };
    page.identifiers.push(entry);
    return { bytes: estimateHeaderBytes(identifier.name), reports: entry.reports };
  },
  reportsAfter: (identifier, sequence) => identifier.reports.list(sequence),
};

export const listStatus = (reader: RegistryReader, request: ListRequest): Page<GroupStatusPage> =>
  listPage(reader, STATUS, { group: request.group }, request);

export const listIdentifiers = (reader: RegistryReader, request: ListRequest): Page<GroupIdentifiersPage> =>
  listPage(reader, IDENTIFIERS, { group: request.group }, request);

/** Reports of one identifier, of a group, or of everything, oldest first. */
export const listReports = (reader: RegistryReader, request: ListReportsRequest): Page<GroupReportsPage> =>
  listPage(reader, REPORTS, { group: request.group, identifier: request.identifier }, request);

/** Every argument, in the order of the request's fields, then what it names (docs/errors.md). */
function listPage<G extends { group: string }>(reader: RegistryReader, shape: PageShape<G>, input: SelectionInput, request: PageRequest): Page<G> {
  const selection = parseSelection(input, LIST_SELECTION);
  const pageSize = resolvePageSize(request.pageSize);
  const scope: PageScope = { list: shape.list, groupKey: selection.groupKey, identifierKey: selection.identifierKey };
  const start = decodePageToken(request.pageToken, scope);
  requireSelected(reader, selection);
  return fillPage(reader, shape, scope, pageSize, start);
}

function fillPage<G extends { group: string }>(
  reader: RegistryReader,
  shape: PageShape<G>,
  scope: PageScope,
  pageSize: number,
  start: PagePosition | undefined,
): Page<G> {
  const groups: G[] = [];
  let entries = 0;
  let bytes = 0;
  let last: PagePosition | undefined;
  let more = false;
  const full = () => entries >= pageSize || bytes >= MAX_PAGE_BYTES;
  const groupPage = (group: GroupRecord): G => {
    const current = groups[groups.length - 1];
    if (current?.group === group.name) return current;
    const page = shape.header(group);
    groups.push(page);
    bytes += estimateHeaderBytes(group.name);
    return page;
  };
  outer: for (const [group, identifier] of walk(reader, scope, start)) {
    if (!identifier) {
      // A group without identifiers: its header alone, one entry.
      if (full()) {
        more = true;
        break;
      }
      groupPage(group);
      entries++;
      last = { groupKey: group.key, identifierKey: "", sequence: GROUP_LISTED };
      continue;
    }
    const position = { groupKey: group.key, identifierKey: identifierSortKey(identifier.key), sequence: LISTED_WHOLE };
    const resumed = start?.groupKey === position.groupKey && start.identifierKey === position.identifierKey;
    // The position's own identifier was listed whole, or up to a report.
    if (resumed && start.sequence < 0) continue;
    const reports = shape.reportsAfter?.(identifier, resumed ? start.sequence : 0) ?? [];
    if (resumed && reports.length === 0) continue;
    if (full()) {
      more = true;
      break;
    }
    const entry = shape.add(groupPage(group), group, identifier);
    bytes += entry.bytes;
    last = position;
    if (reports.length === 0) {
      entries++;
      continue;
    }
    for (const [i, report] of reports.entries()) {
      // The first report always fits (checked above), so a page never ends
      // on an identifier header without one of its reports.
      if (i > 0 && full()) {
        more = true;
        break outer;
      }
      entry.reports?.push(report);
      entries++;
      bytes += estimateReportBytes(report.text);
      position.sequence = report.sequence;
    }
    position.sequence = LISTED_WHOLE;
  }
  return { groups, revision: reader.revision, nextPageToken: more && last ? encodePageToken(scope, last) : "" };
}
