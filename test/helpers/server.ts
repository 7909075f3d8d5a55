import { type RunningServer, type StartOptions, startServer as start } from "../../src/app/start.js";
import { type ServerConfig, defaultConfig } from "../../src/app/config.js";

export type TestServer = RunningServer;

/**
 * Starts an in-process server on an ephemeral loopback port. `tune` adjusts
 * the default configuration (limits, watch options, groups, auth, tls);
 * `options.clock` replaces the monotonic clock (lease deadlines, watch progress).
 */
export async function startServer(tune: (config: ServerConfig) => void = () => {}, options: StartOptions = {}): Promise<TestServer> {
  const config = defaultConfig();
  config.listen = "127.0.0.1:0";
  tune(config);
  return start(config, () => {}, options);
}
