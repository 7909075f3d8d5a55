import { createHash, timingSafeEqual } from "node:crypto";
import { SrError } from "./errors.js";
import { foldName } from "./names.js";

/**
 * Who may call what, when `auth` is configured. `read` may read; `write` may
 * also publish (status, reports, register and remove identifiers and groups)
 * in its `groups`, or in every public group when it lists none; `admin` may
 * do everything a client can. Without `auth`, every caller is an admin.
 */
export type Role = "read" | "write" | "admin";

export interface TokenConfig {
  name: string;
  /** Hex SHA-256 of the bearer token, so the config holds no secret. */
  sha256: string;
  role: Role;
  groups?: string[] | undefined;
}

export interface Principal {
  name: string;
  role: Role;
  groups: Set<string> | undefined;
}

const OPEN: Principal = { name: "anonymous", role: "admin", groups: undefined };

export class AccessPolicy {
  private readonly tokens: { digest: Buffer; principal: Principal }[];

  constructor(tokens: TokenConfig[] | undefined) {
    this.tokens = (tokens ?? []).map((t) => ({
      digest: Buffer.from(t.sha256.toLowerCase(), "hex"),
      principal: { name: t.name, role: t.role, groups: t.groups ? new Set(t.groups.map(foldName)) : undefined },
    }));
  }

  get enabled(): boolean {
    return this.tokens.length > 0;
  }

  /** The caller behind a bearer token (undefined when none was sent). */
  authenticate(token: string | undefined): Principal {
    if (!this.enabled) return OPEN;
    if (token === undefined || token === "") {
      throw new SrError("TOKEN_MISSING", "authorization: a bearer token is required (metadata 'authorization: Bearer <token>')");
    }
    const digest = createHash("sha256").update(token, "utf8").digest();
    const found = this.tokens.find((t) => t.digest.length === digest.length && timingSafeEqual(t.digest, digest));
    if (!found) throw new SrError("TOKEN_UNKNOWN", "authorization: the bearer token is not known to this server");
    return found.principal;
  }

  /** Throws PERMISSION_DENIED unless `principal` may write to `group`. */
  authorizeWrite(principal: Principal, group: string): void {
    if (principal.role === "admin") return;
    if (principal.role === "read") {
      throw new SrError("ROLE_FORBIDDEN", `token '${principal.name}' has role 'read' and may not write`);
    }
    if (principal.groups && !principal.groups.has(foldName(group))) {
      throw new SrError("ROLE_FORBIDDEN", `token '${principal.name}' may not write to group '${group}'`, { group });
    }
  }
}
