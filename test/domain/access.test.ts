/**
 * The access policy without a socket: which credentials make which caller,
 * and what each may write (README, Configuration, Auth).
 */
import { describe, expect, it } from "vitest";
import { AccessPolicy, type CertificateNames } from "../../src/domain/access.js";
import { TOKENS, TOKEN_CONFIG } from "../helpers/auth.js";
import { thrown } from "../helpers/errors.js";

const HINT = "metadata 'authorization: Bearer <token>'";
const cert = (subjectCns: string[], sans: string[] = []): CertificateNames => ({ subjectCns, sans });

const CERTIFICATES = [
  { subject: "dashboard", role: "read" as const },
  { san: "spiffe://prod/ns/billing/sa/worker", role: "write" as const, groups: ["Billing"] },
  { san: "ops.example", role: "admin" as const },
];

describe("tokens", () => {
  const policy = new AccessPolicy(TOKEN_CONFIG);

  it("a known token names its caller and role", () => {
    expect(policy.authenticate({ token: TOKENS.ci }, HINT)).toMatchObject({ name: "ci", via: "token", role: "write" });
  });

  it("no token is TOKEN_MISSING, saying how to send one; an unknown one TOKEN_UNKNOWN without repeating it", () => {
    for (const token of [undefined, ""]) {
      const error = thrown(() => policy.authenticate({ token }, HINT));
      expect(error.reason).toBe("TOKEN_MISSING");
      expect(error.message).toBe(`authorization: a bearer token is required (${HINT})`);
    }
    const unknown = thrown(() => policy.authenticate({ token: "ops-secret-0124" }, HINT));
    expect(unknown.reason).toBe("TOKEN_UNKNOWN");
    expect(unknown.message).not.toContain("ops-secret");
  });

  it("a read token may not write; a write token only in its groups, compared case-insensitively", () => {
    const read = policy.authenticate({ token: TOKENS.dash }, HINT);
    expect(thrown(() => policy.authorizeWrite(read, "billing")).message).toBe("token 'dash' has role 'read' and may not write");
    const write = policy.authenticate({ token: TOKENS.ci }, HINT);
    policy.authorizeWrite(write, "BILLING");
    expect(thrown(() => policy.authorizeWrite(write, "shipping"))).toMatchObject({ reason: "ROLE_FORBIDDEN", facts: { group: "shipping" } });
    policy.authorizeWrite(policy.authenticate({ token: TOKENS.ops }, HINT), "anything");
  });

  it("a write token without groups writes to every group", () => {
    const open = new AccessPolicy([{ name: "w", sha256: TOKEN_CONFIG[0]!.sha256, role: "write" }]);
    open.authorizeWrite(open.authenticate({ token: TOKENS.ops }, HINT), "any-group");
  });
});

describe("client certificates", () => {
  const policy = new AccessPolicy(TOKEN_CONFIG, { certificates: CERTIFICATES, clientCa: true });

  it("map by subject CN or by a DNS or URI SAN, matched exactly", () => {
    expect(policy.authenticate({ certificate: cert(["dashboard"]) }, HINT)).toMatchObject({ name: "dashboard", via: "certificate", role: "read" });
    const worker = policy.authenticate({ certificate: cert(["w1"], ["spiffe://prod/ns/billing/sa/worker"]) }, HINT);
    expect(worker).toMatchObject({ name: "spiffe://prod/ns/billing/sa/worker", role: "write" });
    policy.authorizeWrite(worker, "billing");
    expect(thrown(() => policy.authorizeWrite(worker, "shipping")).message).toBe(
      "certificate 'spiffe://prod/ns/billing/sa/worker' may not write to group 'shipping'",
    );
    expect(policy.authenticate({ certificate: cert(["x"], ["ops.example"]) }, HINT)).toMatchObject({ role: "admin" });
  });

  it("near misses map nothing: another case, a prefix, a CN given as a SAN or the other way round", () => {
    for (const names of [cert(["Dashboard"]), cert(["dashboard.example"]), cert([], ["dashboard"]), cert(["ops.example"]), cert([], ["spiffe://prod/ns/billing/sa"])]) {
      const error = thrown(() => policy.authenticate({ certificate: names }, HINT));
      expect(error.reason, JSON.stringify(names)).toBe("TOKEN_MISSING");
      expect(error.message).toMatch(/or a client certificate mapped in auth\.certificates is required \(the client certificate '.*' is not mapped\)/);
    }
  });

  it("a valid token decides over the certificate; an unknown token is refused beside a good certificate", () => {
    const admin = cert(["x"], ["ops.example"]);
    expect(policy.authenticate({ token: TOKENS.dash, certificate: admin }, HINT)).toMatchObject({ name: "dash", role: "read" });
    expect(policy.authenticate({ token: TOKENS.ops, certificate: cert(["dashboard"]) }, HINT)).toMatchObject({ name: "ops", role: "admin" });
    expect(thrown(() => policy.authenticate({ token: "guess", certificate: admin }, HINT)).reason).toBe("TOKEN_UNKNOWN");
  });

  it("with certificates only, a token counts for nothing and the message names certificates", () => {
    const only = new AccessPolicy([], { certificates: CERTIFICATES, clientCa: true });
    expect(only.authenticate({ token: TOKENS.ops, certificate: cert(["dashboard"]) }, HINT)).toMatchObject({ role: "read" });
    expect(thrown(() => only.authenticate({ token: TOKENS.ops }, HINT)).message).toBe(
      "authorization: a client certificate mapped in auth.certificates is required",
    );
  });

  it("a client CA alone admits every certificate it signed as admin, and nobody without one", () => {
    const ca = new AccessPolicy([], { clientCa: true });
    expect(ca.open).toBe(false);
    expect(ca.authenticate({ certificate: cert(["anyone"]) }, HINT)).toMatchObject({ name: "anyone", role: "admin" });
    expect(thrown(() => ca.authenticate({ token: "whatever" }, HINT)).reason).toBe("TOKEN_MISSING");
  });
});

describe("open", () => {
  it("without tokens, certificates or a client CA every caller is an admin, whatever it sends", () => {
    const open = new AccessPolicy([]);
    expect(open.open).toBe(true);
    for (const credentials of [{}, { token: "anything" }, { certificate: cert(["x"]) }]) {
      expect(open.authenticate(credentials, HINT)).toMatchObject({ role: "admin", via: "open" });
    }
  });
});
