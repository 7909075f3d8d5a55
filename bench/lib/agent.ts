/**
 * A load process: `node --import tsx bench/lib/agent.ts MODULE`, started by
 * `Agent` (procs.ts) pinned to the load core. It runs the functions MODULE
 * exports as `tasks` when asked over IPC and answers with what they return, so
 * one scenario file can drive several load processes with plain calls.
 */
import { pathToFileURL } from "node:url";

type Task = (params: never) => unknown;
const module = process.argv[2];
if (!module || !process.send) throw new Error("usage: started by bench/lib/procs.ts Agent, with an IPC channel");
const { tasks } = (await import(pathToFileURL(module).href)) as { tasks: Record<string, Task> };

process.on("message", (m: { id: number; task: string; params: never }) => {
  const task = tasks[m.task];
  void (async () => {
    try {
      if (!task) throw new Error(`no task '${m.task}' in ${module}`);
      process.send?.({ id: m.id, result: await task(m.params) });
    } catch (error) {
      process.send?.({ id: m.id, error: (error as Error).stack ?? String(error) });
    }
  })();
});
process.on("disconnect", () => process.exit(0));
