/**
 * Estimated encoded sizes, used to keep list pages and watch snapshot parts
 * under 1 MiB. Generous upper bounds of the protobuf framing, not exact sizes.
 */
import { utf8Length } from "../names.js";
import type { StatusView } from "../registry/types.js";

/** A page or snapshot part ends before its estimated encoding passes this. */
export const MAX_PAGE_BYTES = 1_000_000;

export const estimateStatusBytes = (group: string, identifier: string, details: string | undefined): number =>
  40 + utf8Length(group) + utf8Length(identifier) + (details === undefined ? 0 : utf8Length(details) + 4);

/** Upper bound of an armed lease's two fields (a Duration and a Timestamp with their tags). */
const LEASE_BYTES = 30;

/** One IdentifierStatus as listings and snapshots send it, its lease included. */
export const estimateViewBytes = (view: StatusView): number =>
  estimateStatusBytes(view.group, view.identifier, view.details) + (view.lease === undefined ? 0 : LEASE_BYTES);

export const estimateReportBytes = (text: string): number => 30 + utf8Length(text);

/** A group's header in a page, or an identifier's header above its reports. */
export const estimateHeaderBytes = (name: string): number => 10 + utf8Length(name);

/** One name in a ListIdentifiers page. */
export const estimateNameBytes = (name: string): number => 3 + utf8Length(name);
