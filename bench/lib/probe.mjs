// Loaded into a benchmarked server with `node --expose-gc --import bench/lib/probe.mjs`:
// answers the benchmark's questions about the server's own heap over the IPC
// channel, and ends the server with the benchmark (no orphan on a crash).
// Plain JavaScript so that it loads into the compiled server without tsx.
if (process.send) {
  process.on("message", (message) => {
    if (message?.probe !== "heap") return;
    // Twice: the first pass can leave weak and finalizable objects for the second.
    globalThis.gc?.();
    globalThis.gc?.();
    const { heapUsed, rss } = process.memoryUsage();
    process.send({ heapUsed, rss });
  });
  process.on("disconnect", () => process.exit(0));
  // The channel must not by itself keep a server alive that would otherwise exit.
  process.channel?.unref();
}
