import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // CI also writes a JSON report, from which .ci/run prints its closing
    // "N passed, N failed" line and refuses any skipped test.
    reporters: process.env.CI ? ["default", ["json", { outputFile: "tmp/vitest-report.json" }]] : ["default"],
  },
});
