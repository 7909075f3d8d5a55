import { defineConfig } from "vitest/config";

/**
 * The end-to-end suites that go through the API only (they start a server, in process or
 * spawned, and never reach into its registry), run again with the registry kept in SQLite and
 * in etcd: the rules must hold the same in every storage mode. Each test server gets a storage
 * of its own (test/helpers/process.ts, storageForTest): a fresh data dir on /dev/shm, or a key
 * prefix of its own in the one etcd member the etcd project's global setup starts.
 */
const API_SUITES = [
  "test/transport/grpc/status.test.ts",
  "test/transport/grpc/registration.test.ts",
  "test/transport/grpc/reports.test.ts",
  "test/transport/grpc/errors.test.ts",
  "test/transport/grpc/health.test.ts",
  "test/e2e/process.test.ts",
];

/**
 * Suites that also write through the in-process registry (`srv.registry`) to set up their cases:
 * SQLite commits those writes as it commits the API's, so they run there too (WatchStatus, its
 * snapshot, filters and resume, and the TypeScript client's resume); in etcd mode a write goes
 * through the cluster, so only the API reaches it.
 */
const REGISTRY_SUITES = ["test/transport/grpc/watch.test.ts", "test/clients/ts/resume.test.ts"];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // CI also writes a JSON report, from which .ci/run prints its closing
    // "N passed, N failed" line and refuses any skipped test.
    reporters: process.env.CI ? ["default", ["json", { outputFile: "tmp/vitest-report.json" }]] : ["default"],
    projects: [
      // Every suite, with the registry in memory (the server's default).
      { extends: true, test: { name: "memory", include: ["test/**/*.test.ts"] } },
      { extends: true, test: { name: "sqlite", include: [...API_SUITES, ...REGISTRY_SUITES], env: { SR_TEST_STORAGE: "sqlite" } } },
      { extends: true, test: { name: "etcd", include: API_SUITES, env: { SR_TEST_STORAGE: "etcd" }, globalSetup: ["test/helpers/etcd-global-setup.ts"] } },
    ],
  },
});
