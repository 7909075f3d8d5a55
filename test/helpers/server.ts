import { type RunningServer, type StartOptions, startServer as start } from "../../src/app/start.js";
import { type ServerConfig, defaultConfig } from "../../src/app/config.js";
import { storageForTest } from "./process.js";

export type TestServer = RunningServer;

/**
 * Starts an in-process server on an ephemeral loopback port. `tune` adjusts
 * the default configuration (limits, watch options, groups, auth, tls);
 * `options.clock` replaces the monotonic clock (lease deadlines, watch progress).
 *
 * Under `SR_TEST_STORAGE` (the vitest projects `sqlite` and `etcd`,
 * vitest.config.ts) the registry is kept in that mode instead of in memory:
 * a fresh SQLite data dir, or a key prefix of its own in the run's etcd,
 * unless `tune` chose a storage itself.
 */
export async function startServer(tune: (config: ServerConfig) => void = () => {}, options: StartOptions = {}): Promise<TestServer> {
  const config = defaultConfig();
  config.listen = "127.0.0.1:0";
  tune(config);
  const storage = config.storage.dataDir === undefined && config.storage.etcd === undefined ? storageForTest() : undefined;
  if (!storage) return start(config, () => {}, options);
  config.storage = storage.config;
  let server: RunningServer;
  try {
    server = await start(config, () => {}, options);
  } catch (error) {
    storage.release();
    throw error;
  }
  // The data dir goes once the server has let it go.
  const stop = server.stop.bind(server);
  const forceStop = server.forceStop.bind(server);
  return Object.assign(server, {
    stop: () => stop().finally(() => storage.release()),
    forceStop: () => {
      forceStop();
      storage.release();
    },
  });
}
