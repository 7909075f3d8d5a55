/**
 * A start on a data dir that fails after the storage is opened (a configured
 * group the kept state or the limits refuse) leaves nothing behind in the
 * process: the data dir's lock, the file, the checkpointer and the hub are
 * released, so a good start on the same dir works. In process, on /dev/shm.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { ConfigError, type ServerConfig } from "../../../src/app/config.js";
import { rejection } from "../../helpers/errors.js";
import { type TestServer, startServer } from "../../helpers/server.js";
import { dataDir, removeDataDirs } from "../dirs.js";

const running: TestServer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});
afterAll(removeDataDirs);

/** The error a start must fail with; a server that starts after all is stopped with the others. */
const startFailure = (start: Promise<TestServer>): Promise<Error> => rejection(start.then((server) => void running.push(server)));

describe("a start that fails once the storage is open", () => {
  it("over the limits releases the data dir: the next start on it works", async () => {
    const dir = dataDir();
    const error = await startFailure(
      startServer((config) => {
        config.storage = { dataDir: dir };
        config.limits = { ...config.limits, maxIdentifiersPerGroup: 2 };
        config.groups = [{ name: "billing", identifiers: [{ name: "a" }, { name: "b" }, { name: "c" }] }];
      }),
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/^groups\[0\] \(billing\): /);
    const srv = await startServer((config) => {
      config.storage = { dataDir: dir };
      config.groups = [{ name: "billing", identifiers: [] }];
    });
    running.push(srv);
    expect(srv.registry.getStatus({ group: "billing", identifier: "" }).status.group).toBe("billing");
  });

  it("with a report_capacity other than the kept one releases the data dir too", async () => {
    const dir = dataDir();
    const group = (reportCapacity: number) => (config: ServerConfig) => {
      config.storage = { dataDir: dir };
      config.groups = [{ name: "billing", reportCapacity, identifiers: [] }];
    };
    const first = await startServer(group(10));
    await first.stop();
    const error = await startFailure(startServer(group(20)));
    expect(error.message).toMatch(/^groups\[0\] \(billing\): /);
    const again = await startServer(group(10));
    running.push(again);
    expect(again.registry.reportsOf("billing", "main").capacity).toBe(10);
  });
});
