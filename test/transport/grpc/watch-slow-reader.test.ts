import { afterAll, beforeAll, expect, it } from "vitest";
import { SrClient } from "../../../clients/ts/index.js";
import { rawWatch } from "../../helpers/raw-watch.js";
import { type TestServer, startServer } from "../../helpers/server.js";
import { waitFor } from "../../helpers/wait.js";

/**
 * One watcher stops reading while 100,000 changes are made. The server must
 * keep its pending queue within the budget, every other watcher must get every
 * change, and the stuck one, once it reads again, a resync snapshot equal to
 * the registry.
 */
const CHANGES = 100_000;
const BUDGET = 1_000; // the default budget_messages
const IDENTIFIERS = 20;

let srv: TestServer;
let fast: SrClient;

beforeAll(async () => {
  srv = await startServer();
  fast = new SrClient(srv.address);
  srv.registry.registerGroup({ group: "load" });
  for (let i = 0; i < IDENTIFIERS; i++) srv.registry.registerIdentifier({ group: "load", identifier: `id${i}` });
});

afterAll(async () => {
  fast.close();
  await srv.stop();
});

it("bounds a stuck watcher's queue, feeds the others everything, then resyncs it", async () => {
  // The stuck watcher: reads nothing, so its HTTP/2 window fills and the server must hold back.
  const stuck = await rawWatch(srv.address, { group: "load", includeDetails: true });
  const stuckEvents = stuck.events;
  await waitFor(() => srv.hub.watcherCount === 1, 60_000, "the stuck watcher");
  const stuckWatcher = srv.hub.list()[0];

  // Two live watchers that read everything.
  const stop = new AbortController();
  const received = [0, 0];
  const lastRevision = [0, 0];
  let ordered = true;
  const readers = [0, 1].map(async (k) => {
    for await (const e of fast.watch({ group: "load", includeDetails: true }, { signal: stop.signal, resume: false })) {
      if (e.event?.$case !== "statusChanged") continue;
      if (Number(e.revision) <= (lastRevision[k] as number)) ordered = false;
      lastRevision[k] = Number(e.revision);
      received[k] = (received[k] as number) + 1;
    }
  });
  await waitFor(() => srv.hub.watcherCount === 3, 60_000, "three watchers");

  // The writer goes as fast as the live watchers read (paced by what they
  // received, never by a timer), in batches that each overflow nobody but the stuck one.
  const start = srv.registry.revision;
  let maxPendingSeen = 0;
  for (let n = 0; n < CHANGES; ) {
    const batch = Math.min(250, CHANGES - n);
    for (let i = 0; i < batch; i++, n++) {
      srv.registry.setStatus({ group: "load", identifier: `id${n % IDENTIFIERS}`, status: n % 2 ? 1 : -1, details: `change ${n}` });
    }
    for (const w of srv.hub.list()) maxPendingSeen = Math.max(maxPendingSeen, w.pending);
    await waitFor(() => Math.min(...received) >= n - 250, 60_000, "live watchers to keep up");
  }
  await waitFor(() => received.every((r) => r === CHANGES), 60_000, "live watchers to receive every change");
  expect(ordered).toBe(true);
  expect(lastRevision).toEqual([start + CHANGES, start + CHANGES]);

  // The server's own count: no watcher ever held more than the budget.
  expect(maxPendingSeen).toBeLessThanOrEqual(BUDGET);
  for (const w of srv.hub.list()) expect(w.maxPending).toBeLessThanOrEqual(BUDGET);
  // Only the stuck one hit its budget; the live ones never lost anything.
  const [, ...live] = srv.hub.list();
  expect(stuckWatcher?.maxPending).toBe(BUDGET);
  for (const w of live) {
    expect(w.resyncs).toBe(0);
    expect(w.maxPending).toBeLessThan(BUDGET);
  }

  // It reads again: whatever was in flight, then a resync snapshot equal to the registry.
  stuck.resume();
  await waitFor(() => stuckEvents.some((e) => e.event?.$case === "snapshot" && e.event.value.resync && e.event.value.last), 60_000, "the resync snapshot");
  const resync = stuckEvents.filter((e) => e.event?.$case === "snapshot" && e.event.value.resync);
  const identifiers = resync.flatMap((e) => (e.event?.$case === "snapshot" ? e.event.value.identifiers : []));
  const registry = srv.registry.snapshot({ group: "load" });
  expect(identifiers.map((i) => [i.identifier, i.status, i.details, Number(i.revision)])).toEqual(
    registry.map((v) => [v.identifier, v.status, v.details, v.revision]),
  );
  expect(Number(resync[0]?.revision)).toBe(srv.registry.revision);
  // Fewer messages than changes reached it: the dropped ones were replaced, not queued.
  expect(stuckEvents.length).toBeLessThan(CHANGES / 2);

  stop.abort();
  stuck.close();
  await Promise.all(readers);
  await waitFor(() => srv.hub.watcherCount === 0, 60_000, "every watcher to be freed");
}, 120_000);
