// Types of view.js (plain JavaScript, served to the browser as it is) for the server's renderer.
export interface Entry {
  group: string;
  identifier: string;
  status: number;
  details: string | undefined;
  ready: boolean;
  revision: number;
  /** Milliseconds since the epoch. */
  updateTime: number;
  leaseTtlMs?: number | undefined;
  leaseExpireTime?: number | undefined;
  leaseExpired?: boolean;
  lastReport?: ReportItem | undefined;
  capacity?: number | undefined;
  /** The lowercased text the text filter searches, cached by matches(); cleared on change. */
  hay?: string | undefined;
}
export interface ReportItem {
  sequence: number;
  time: number;
  text: string;
}
export interface ChangeItem {
  time: number;
  text: string;
}
export interface Filters {
  group: string;
  text: string;
  notReady: boolean;
  selected: string;
}
export interface GroupHead {
  name: string;
  internal: boolean;
}
export interface Counts {
  total: number;
  ready: number;
  notReady: number;
}
export function fold(name: string): string;
export function keyOf(group: string, identifier: string): string;
export function compareIdentifiers(a: string, b: string): number;
export function compareGroups(a: string, b: string): number;
export function esc(text: unknown): string;
export function formatTime(ms: number): string;
export function formatDuration(ms: number): string;
export function leaseText(entry: Entry, now: number): { text: string; expired: boolean } | undefined;
export function badgeHtml(ready: boolean): string;
export function parseFilters(search: URLSearchParams): Filters;
export function queryOf(filters: Filters, selection: { group: string; identifier: string } | undefined): string;
export function matches(entry: Entry, filters: Filters): boolean;
export function rowHtml(entry: Entry, now: number, filters: Filters): string;
export function groupCounts(entries: readonly Entry[]): Counts;
export function groupHeaderHtml(group: GroupHead, counts: Counts): string;
export function groupHtml(group: GroupHead, entries: readonly Entry[], now: number, filters: Filters): string;
export function summaryHtml(totals: Counts & { groups: number }): string;
export function groupOptionsHtml(groups: readonly GroupHead[], selected: string): string;
export function detailHtml(entry: Entry, reports: readonly ReportItem[], changes: readonly ChangeItem[], now: number, filters: Filters): string;
export function changeText(oldStatus: number, status: number, details: string | undefined): string;
