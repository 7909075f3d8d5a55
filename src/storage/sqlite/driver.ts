/**
 * better-sqlite3 (major 12), loaded only when a data dir is used: it is an
 * optional dependency that compiles SQLite at install, so `npm ci` and the
 * in-memory server work on a machine without a compiler. The few parts of its
 * API used here are typed here (it ships no types of its own).
 */

export interface Statement {
  run(...params: unknown[]): { changes: number };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

export interface Database {
  pragma(source: string, options?: { simple?: boolean }): unknown;
  prepare(source: string): Statement;
  exec(source: string): void;
  transaction<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void;
  backup(destination: string): Promise<unknown>;
  close(): void;
  readonly open: boolean;
}

export type DatabaseConstructor = new (file: string, options?: { timeout?: number; readonly?: boolean; fileMustExist?: boolean }) => Database;

/** What to tell the user when the driver is missing or did not build. */
export const INSTALL_HINT =
  "--data-dir needs the optional dependency better-sqlite3 (major 12), which is not installed or did not build here. " +
  "It compiles SQLite at install: install a compiler first (Debian: apt-get install g++ make python3), " +
  "then run `npm install better-sqlite3@12` (or `npm ci` again) in the server's directory";

let loaded: Promise<DatabaseConstructor> | undefined;

/**
 * The driver, imported on first use; a clear error naming what to install
 * when it cannot load. `name` is for the tests (a package that is not there).
 */
export function loadDriver(name = "better-sqlite3"): Promise<DatabaseConstructor> {
  // A variable specifier: the module is optional, so nothing may import it statically (nor type-check against it).
  if (name !== "better-sqlite3") return load(name);
  loaded ??= load(name);
  return loaded.catch((error: unknown) => {
    loaded = undefined;
    throw error;
  });
}

function load(name: string): Promise<DatabaseConstructor> {
  return import(name).then(
    (module: { default: DatabaseConstructor }) => {
      // The native part loads on first use: try it now, so a half-installed package fails here, clearly.
      new module.default(":memory:").close();
      return module.default;
    },
  ).catch((error: unknown) => {
    throw new Error(`${INSTALL_HINT} (${(error as Error).message.split("\n")[0]})`);
  });
}
