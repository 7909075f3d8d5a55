import { createHash, timingSafeEqual } from "node:crypto";
import { SrError } from "./errors.js";
import { foldName } from "./names.js";

/**
 * Who may call what, when `auth` is configured. `read` may read; `write` may
 * also publish (status, reports, register and remove identifiers and groups)
 * in its `groups`, or in every public group when it has none; `admin` may do
 * everything a client can. Without tokens, certificates or a client CA, every
 * caller is an admin.
 */
export type Role = "read" | "write" | "admin";

/** What a token or a certificate is granted. `groups` is never empty (the configuration refuses `[]`). */
export interface Grant {
  role: Role;
  groups?: string[] | undefined;
}

export interface TokenConfig extends Grant {
  name: string;
  /** Hex SHA-256 of the bearer token, so the config holds no secret. */
  sha256: string;
}

/** A client certificate mapped to a grant by its subject CN or one of its SANs (DNS or URI), matched exactly. */
export interface CertificateConfig extends Grant {
  subject?: string | undefined;
  san?: string | undefined;
}

/** The names a verified client certificate carries. */
export interface CertificateNames {
  subjectCns: string[];
  /** Its DNS and URI subject alternative names, without the `DNS:` / `URI:` prefix. */
  sans: string[];
}

/** What a caller presents: a bearer token and the names of its verified client certificate, either or both absent. */
export interface Credentials {
  token?: string | undefined;
  certificate?: CertificateNames | undefined;
}

export interface Principal {
  /** The token's name, or the certificate name that matched. */
  name: string;
  /** What authenticated it, for messages: `token 'ci' may not write ...`. */
  via: "token" | "certificate" | "open";
  role: Role;
  groups: Set<string> | undefined;
}

export interface AccessOptions {
  certificates?: CertificateConfig[] | undefined;
  /**
   * Client certificates are verified against a CA. With no token and no
   * certificate mapping configured, that CA alone is the gate: every verified
   * certificate is an admin.
   */
  clientCa?: boolean | undefined;
}

const OPEN: Principal = { name: "anonymous", via: "open", role: "admin", groups: undefined };

const groupSet = (grant: Grant) => (grant.groups ? new Set(grant.groups.map(foldName)) : undefined);

export class AccessPolicy {
  private readonly tokens: { digest: Buffer; principal: Principal }[];
  private readonly certificates: { subject?: string | undefined; san?: string | undefined; grant: Grant }[];
  private readonly clientCa: boolean;

  constructor(tokens: TokenConfig[] | undefined, options: AccessOptions = {}) {
    this.tokens = (tokens ?? []).map((t) => ({
      digest: Buffer.from(t.sha256.toLowerCase(), "hex"),
      principal: { name: t.name, via: "token", role: t.role, groups: groupSet(t) },
    }));
    this.certificates = (options.certificates ?? []).map((c) => ({ subject: c.subject, san: c.san, grant: c }));
    this.clientCa = options.clientCa ?? false;
  }

  /** True when every caller is admitted as an admin: no token, no certificate mapping, no client CA. */
  get open(): boolean {
    return this.tokens.length === 0 && this.certificates.length === 0 && !this.clientCa;
  }

  /**
   * The caller behind `credentials`. A valid token decides; an unknown one is
   * refused even beside a good certificate; without a token a mapped
   * certificate decides. Tokens sent to a server that has none are ignored.
   * `hint` says how a token is sent, for the message: `metadata '...'`.
   */
  authenticate(credentials: Credentials, hint: string): Principal {
    if (this.open) return OPEN;
    const { token, certificate } = credentials;
    if (this.tokens.length > 0 && token !== undefined && token !== "") return this.byToken(token);
    if (certificate) {
      const principal = this.byCertificate(certificate);
      if (principal) return principal;
    }
    throw new SrError("TOKEN_MISSING", this.missing(certificate, hint));
  }

  /** Throws ROLE_FORBIDDEN unless `principal` may write to `group`. */
  authorizeWrite(principal: Principal, group: string): void {
    if (principal.role === "admin") return;
    const who = `${principal.via} '${principal.name}'`;
    if (principal.role === "read") throw new SrError("ROLE_FORBIDDEN", `${who} has role 'read' and may not write`);
    if (principal.groups && !principal.groups.has(foldName(group))) {
      throw new SrError("ROLE_FORBIDDEN", `${who} may not write to group '${group}'`, { group });
    }
  }

  private byToken(token: string): Principal {
    const digest = createHash("sha256").update(token, "utf8").digest();
    const found = this.tokens.find((t) => t.digest.length === digest.length && timingSafeEqual(t.digest, digest));
    // The message never repeats the token: it is a secret, and it may be a real one sent to the wrong server.
    if (!found) throw new SrError("TOKEN_UNKNOWN", "authorization: the bearer token is not known to this server");
    return found.principal;
  }

  private byCertificate(names: CertificateNames): Principal | undefined {
    if (this.tokens.length === 0 && this.certificates.length === 0) {
      return { name: names.subjectCns[0] ?? names.sans[0] ?? "client certificate", via: "certificate", role: "admin", groups: undefined };
    }
    for (const { subject, san, grant } of this.certificates) {
      const name = subject !== undefined ? names.subjectCns.find((cn) => cn === subject) : names.sans.find((s) => s === san);
      if (name !== undefined) return { name, via: "certificate", role: grant.role, groups: groupSet(grant) };
    }
    return undefined;
  }

  private missing(certificate: CertificateNames | undefined, hint: string): string {
    if (this.certificates.length === 0 && this.tokens.length === 0) {
      return "authorization: a client certificate signed by the configured client CA is required";
    }
    if (this.certificates.length === 0) return `authorization: a bearer token is required (${hint})`;
    const shown = certificate ? ` (the client certificate '${certificate.subjectCns[0] ?? certificate.sans[0] ?? ""}' is not mapped)` : "";
    if (this.tokens.length === 0) return `authorization: a client certificate mapped in auth.certificates is required${shown}`;
    return `authorization: a bearer token (${hint}) or a client certificate mapped in auth.certificates is required${shown}`;
  }
}
