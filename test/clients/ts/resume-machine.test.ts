import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { type StreamError, ResumeMachine } from "../../../clients/ts/resume.js";
import { WatchStatusRequest, type WatchStatusResponse } from "../../../clients/ts/index.js";

// The resume decisions of the TS client's watch(), driven by hand: no server, no timers.

const snapshot = (revision: number, last = true, resync = false): WatchStatusResponse => ({
  revision: BigInt(revision),
  event: { $case: "snapshot", value: { identifiers: [], resync, last, reports: [] } },
});
const change = (revision: number): WatchStatusResponse => ({
  revision: BigInt(revision),
  event: { $case: "statusChanged", value: { group: "svc", identifier: "main", status: 2, oldStatus: 1, details: undefined, ready: true } },
});
const progress = (revision: number): WatchStatusResponse => ({ revision: BigInt(revision), event: { $case: "progress", value: {} } });

const unavailable: StreamError = { code: status.UNAVAILABLE };
const compacted: StreamError = { code: status.OUT_OF_RANGE, reason: "HISTORY_COMPACTED" };
const ahead: StreamError = { code: status.INVALID_ARGUMENT, reason: "REVISION_AHEAD" };

function machine(request: Partial<WatchStatusRequest> = { group: "svc" }, resume = true) {
  const m = new ResumeMachine(WatchStatusRequest.fromPartial(request), resume);
  const first = m.start();
  return { m, first };
}

/** Feeds messages, expecting each to be handed over; returns what was handed over. */
function deliver(m: ResumeMachine, ...messages: WatchStatusResponse[]) {
  return messages.map((message) => {
    const delivery = m.message(message);
    if (delivery.do !== "yield") throw new Error(`expected yield, got ${delivery.do}`);
    return delivery;
  });
}

const reconnect = (startRevision: number | undefined, backoffAttempt: number, resync = false) => ({
  do: "connect",
  request: expect.objectContaining({ group: "svc", startRevision: startRevision === undefined ? undefined : BigInt(startRevision) }),
  backoffAttempt,
  resync,
});

describe("ResumeMachine", () => {
  it("opens the first call at once, from the caller's start_revision when given", () => {
    expect(machine().first).toEqual(reconnect(undefined, 0));
    const { first } = machine({ group: "svc", startRevision: 41n });
    expect(first).toEqual(reconnect(41, 0));
    expect(first.request).toEqual(WatchStatusRequest.fromPartial({ group: "svc", startRevision: 41n }));
  });

  it("resumes after the last revision delivered: a whole snapshot, a change or a progress", () => {
    const { m } = machine();
    deliver(m, snapshot(5));
    expect(m.failed(unavailable)).toEqual(reconnect(5, 1));
    deliver(m, change(7));
    expect(m.failed(unavailable)).toEqual(reconnect(7, 1));
    deliver(m, progress(9));
    // A stream the server ended cleanly is resumed the same way.
    expect(m.ended()).toEqual(reconnect(9, 1));
  });

  it("hands messages over unchanged and calls for no resync on a normal stream", () => {
    const { m } = machine();
    const messages = [snapshot(5, false), snapshot(5), change(6), progress(8)];
    expect(deliver(m, ...messages)).toEqual(messages.map((message) => ({ do: "yield", message, resynced: false })));
  });

  it("backs off longer on each failure in a row, and starts over after a message", () => {
    const { m } = machine();
    deliver(m, snapshot(5));
    const attempts = [1, 2, 3, 4].map(() => m.failed(unavailable));
    expect(attempts).toEqual([1, 2, 3, 4].map((n) => reconnect(5, n)));
    deliver(m, change(6));
    expect(m.failed(unavailable)).toEqual(reconnect(6, 1));
  });

  it("retries every failure of the connection or the server, not of the request", () => {
    for (const code of [status.CANCELLED, status.UNKNOWN, status.ABORTED, status.INTERNAL, status.UNAVAILABLE]) {
      const { m } = machine();
      deliver(m, snapshot(5));
      expect(m.failed({ code }), `code ${code}`).toEqual(reconnect(5, 1));
    }
    // A replica that has not caught up yet is waited for, from the same point.
    const { m } = machine();
    deliver(m, snapshot(5));
    expect(m.failed({ code: status.UNAVAILABLE, reason: "REPLICA_BEHIND" })).toEqual(reconnect(5, 1));
  });

  it("restarts from a fresh snapshot marked resync after a drop mid-snapshot", () => {
    const { m } = machine();
    deliver(m, snapshot(5, false));
    expect(m.phase).toBe("snapshot");
    expect(m.failed(unavailable)).toEqual(reconnect(undefined, 1, true));
    const part = snapshot(8, false);
    const [first, last] = deliver(m, part, snapshot(8));
    // onResync comes with the first part, before the caller sees any of the new snapshot.
    expect(first).toEqual({ do: "yield", message: snapshot(8, false, true), resynced: true });
    expect(part, "the caller's message is not mutated").toEqual(snapshot(8, false));
    expect(last).toEqual({ do: "yield", message: snapshot(8, true, true), resynced: false });
    // Then it is an ordinary stream again.
    expect(deliver(m, change(9))).toEqual([{ do: "yield", message: change(9), resynced: false }]);
    expect(m.failed(unavailable)).toEqual(reconnect(9, 1));
  });

  it("restarts at once from a fresh snapshot when the history no longer reaches back, or the revision is ahead", () => {
    for (const error of [compacted, ahead]) {
      const { m } = machine();
      deliver(m, snapshot(5));
      expect(m.failed(error), error.reason).toEqual(reconnect(undefined, 0, true));
      expect(deliver(m, snapshot(20))).toEqual([{ do: "yield", message: snapshot(20, true, true), resynced: true }]);
    }
    // The caller's own start_revision is a resume point too.
    const { m } = machine({ group: "svc", startRevision: 3n });
    expect(m.failed(compacted)).toEqual(reconnect(undefined, 0, true));
  });

  it("decides on the reason, not the code: an OUT_OF_RANGE or INVALID_ARGUMENT of another reason is thrown", () => {
    for (const error of [{ code: status.OUT_OF_RANGE }, { code: status.INVALID_ARGUMENT, reason: "NAME_INVALID" as const }]) {
      const { m } = machine();
      deliver(m, snapshot(5));
      expect(m.failed(error)).toEqual({ do: "throw", error });
    }
  });

  it("throws a stale resume point when there was none to resume from", () => {
    const { m } = machine();
    expect(m.failed(compacted)).toEqual({ do: "throw", error: compacted });
  });

  it("throws what a retry cannot fix: RESOURCE_EXHAUSTED, a bad request, a missing right", () => {
    const errors: StreamError[] = [
      { code: status.RESOURCE_EXHAUSTED, reason: "LIMIT_REACHED" },
      { code: status.INVALID_ARGUMENT, reason: "GROUP_REQUIRED" },
      { code: status.PERMISSION_DENIED, reason: "ROLE_FORBIDDEN" },
      { code: status.UNAUTHENTICATED, reason: "TOKEN_UNKNOWN" },
      { code: status.DEADLINE_EXCEEDED },
    ];
    for (const error of errors) {
      const { m } = machine();
      deliver(m, snapshot(5), change(6));
      expect(m.failed(error), `code ${error.code}`).toEqual({ do: "throw", error });
    }
  });

  it("resyncs from another registry: cancels the call, drops its messages, restarts at once", () => {
    const { m } = machine();
    expect(m.registry("A")).toEqual({ do: "continue" });
    deliver(m, snapshot(5), change(6));
    expect(m.failed(unavailable)).toEqual(reconnect(6, 1));
    expect(m.registry("A"), "the same registry: resume").toEqual({ do: "continue" });
    expect(m.failed(unavailable)).toEqual(reconnect(6, 2));
    expect(m.registry("B")).toEqual({ do: "cancel" });
    expect(m.phase).toBe("switching");
    expect(m.message(change(50)), "its revisions mean nothing here").toEqual({ do: "skip" });
    expect(m.failed({ code: status.CANCELLED })).toEqual(reconnect(undefined, 0, true));
    // The fresh snapshot comes from B, now the registry in use.
    expect(m.registry("B")).toEqual({ do: "continue" });
    expect(deliver(m, snapshot(30))).toEqual([{ do: "yield", message: snapshot(30, true, true), resynced: true }]);
    expect(m.ended()).toEqual(reconnect(30, 1));
  });

  it("accepts another registry when it asks for a fresh snapshot anyway", () => {
    const { m } = machine();
    m.registry("A");
    deliver(m, snapshot(5, false));
    expect(m.failed(unavailable)).toEqual(reconnect(undefined, 1, true));
    expect(m.registry("B")).toEqual({ do: "continue" });
  });

  it("announces a resync snapshot the server sent by itself (a slow reader) with its first part", () => {
    const { m } = machine();
    deliver(m, snapshot(5), change(6));
    expect(deliver(m, snapshot(40, false, true), snapshot(40, true, true)).map((d) => d.resynced)).toEqual([true, false]);
    expect(m.failed(unavailable)).toEqual(reconnect(40, 1));
  });

  it("with resume: false, ends with the stream: its error is thrown, its end stops", () => {
    for (const error of [unavailable, compacted, { code: status.CANCELLED }]) {
      const { m } = machine({ group: "svc" }, false);
      deliver(m, snapshot(5));
      expect(m.failed(error)).toEqual({ do: "throw", error });
    }
    const { m } = machine({ group: "svc" }, false);
    deliver(m, snapshot(5, false));
    expect(m.ended()).toEqual({ do: "stop" });
  });
});
