import { runServerProcess } from "./app/process.js";

/** `npm start`: the server process (the README's Quick start); a configuration error exits 2. */
void runServerProcess(process.argv.slice(2), { usage: 2, failed: 1, printUsage: true });
