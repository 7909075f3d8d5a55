/** Commands that need no server: `token`, `config check`. */
import { createHash, randomBytes } from "node:crypto";
import type { Command } from "commander";
import { checkAuth } from "../../app/auth.js";
import { ConfigError, loadConfig } from "../../app/config.js";
import { type Context, examples, run } from "../context.js";
import { EXIT_OK, UsageError } from "../exit.js";
import { render } from "../output.js";

/** A new bearer token (32 random bytes, base64url) and its sha256, as `auth.tokens[].sha256` wants it. */
export function newToken(): { token: string; sha256: string } {
  const token = randomBytes(32).toString("base64url");
  return { token, sha256: createHash("sha256").update(token, "utf8").digest("hex") };
}

async function token(ctx: Context): Promise<number> {
  const made = newToken();
  ctx.out(render(ctx.format, made, () => `${made.token}\nsha256: "${made.sha256}"\n`));
  return EXIT_OK;
}

/**
 * Validates FILE as `npm start -- --config FILE` would, without starting: the schema (every error on a line
 * of its own, `limits.max_groups: line 3: must be a positive integer`), then the open-mode rule.
 */
async function configCheck(ctx: Context, [file]: (string | undefined)[]): Promise<number> {
  try {
    const config = loadConfig(["--config", file as string], {});
    if (config !== "help") checkAuth(config);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
  ctx.out(render(ctx.format, { file, ok: true }, () => "ok\n"));
  return EXIT_OK;
}

export function adminCommands(program: Command): void {
  examples(
    program
      .command("token")
      .summary("print a new random token and the sha256 line for the configuration")
      .description(
        "Prints a new random bearer token (first line; give it to the client, e.g. SR_TOKEN) and the `sha256:` line to put in\n" +
          "the server's auth.tokens entry (the server keeps only the hash).",
      )
      .action(run(token)),
    ["sr token", "sr token -o json"],
  );
  const config = examples(program.command("config").summary("configuration files").description("Configuration files of the server."), [
    "sr config check sr.yaml",
  ]);
  examples(
    config
      .command("check")
      .summary("validate a configuration without starting (exit 0 ok, 64 invalid)")
      .description("Validates FILE as `sr serve --config FILE` would read it, without starting: prints ok (exit 0), or the error (exit 64).")
      .argument("<FILE>", "YAML configuration")
      .action(run(configCheck)),
    ["sr config check sr.yaml"],
  );
}
