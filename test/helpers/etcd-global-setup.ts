/**
 * vitest globalSetup of the `etcd` project (vitest.config.ts): one etcd
 * member for the whole run, which every test server of that project shares,
 * each under a key prefix of its own (test/helpers/process.ts, storageForTest).
 * Its client URLs reach the tests as `inject("srTestEtcd")`; the member and its
 * data dir are gone once the run ends. Without an `etcd` on PATH nothing is
 * started and every test of the project fails, saying what to install (the
 * other projects run as usual).
 */
import type { TestProject } from "vitest/node";
import { EtcdCluster, etcdBinary } from "./etcd.js";

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  try {
    etcdBinary();
  } catch (error) {
    project.provide("srTestEtcd", { endpoints: [], missing: (error as Error).message });
    return undefined;
  }
  const etcd = await EtcdCluster.start(1);
  project.provide("srTestEtcd", { endpoints: etcd.endpoints });
  return () => etcd.stop();
}
