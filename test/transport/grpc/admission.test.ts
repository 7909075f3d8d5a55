/**
 * Admission without a socket: the checks every handler makes first, in the
 * order of docs/errors.md (a stop, then authentication, then the role).
 */
import { createHash } from "node:crypto";
import { Metadata } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { AccessPolicy, type TokenConfig } from "../../../src/domain/access.js";
import type { Reason } from "../../../src/protocol/wire.js";
import { Admission } from "../../../src/transport/grpc/admission.js";

const sha256 = (token: string) => createHash("sha256").update(token).digest("hex");

const TOKENS: TokenConfig[] = [
  { name: "ops", sha256: sha256("ops-secret"), role: "admin" },
  { name: "dash", sha256: sha256("dash-secret"), role: "read" },
  { name: "ci", sha256: sha256("ci-secret"), role: "write", groups: ["Billing"] },
];

const withHeader = (value?: string) => {
  const metadata = new Metadata();
  if (value !== undefined) metadata.set("authorization", value);
  return metadata;
};

const bearer = (token: string) => withHeader(`Bearer ${token}`);

/** What `admit` throws: its reason and facts. */
function refusal(run: () => unknown): { reason: Reason; facts: object } {
  try {
    run();
  } catch (error) {
    const { reason, facts } = error as { reason: Reason; facts: object };
    return { reason, facts };
  }
  throw new Error("admitted");
}

describe("admission with tokens configured", () => {
  const gate = () => new Admission(new AccessPolicy(TOKENS));

  it("admits a known token and names its principal", () => {
    expect(gate().admit(bearer("ops-secret"))).toMatchObject({ name: "ops", role: "admin" });
    expect(gate().admit(withHeader("bearer  dash-secret"))).toMatchObject({ name: "dash", role: "read" });
  });

  it("TOKEN_MISSING without a header, with an empty one, or one that is not `Bearer <token>`", () => {
    for (const header of [undefined, "", "Bearer", "Bearer ", "Basic b3BzOnNlY3JldA==", "ops-secret", "Bearer ops secret"]) {
      expect(refusal(() => gate().admit(withHeader(header))), String(header)).toEqual({ reason: "TOKEN_MISSING", facts: {} });
    }
  });

  it("TOKEN_UNKNOWN for a token this server does not know", () => {
    expect(refusal(() => gate().admit(bearer("guess")))).toEqual({ reason: "TOKEN_UNKNOWN", facts: {} });
  });

  it("ROLE_FORBIDDEN for a read token's write, or a write outside a write token's groups", () => {
    expect(refusal(() => gate().admit(bearer("dash-secret"), { writeGroup: "billing" })).reason).toBe("ROLE_FORBIDDEN");
    expect(refusal(() => gate().admit(bearer("ci-secret"), { writeGroup: "shipping" }))).toEqual({
      reason: "ROLE_FORBIDDEN",
      facts: { group: "shipping" },
    });
    // Group names compare case-insensitively; reads need no write permission.
    expect(gate().admit(bearer("ci-secret"), { writeGroup: "BILLING" })).toMatchObject({ name: "ci" });
    expect(gate().admit(bearer("dash-secret"))).toMatchObject({ name: "dash" });
  });

  it("authenticates before it checks the role", () => {
    expect(refusal(() => gate().admit(bearer("guess"), { writeGroup: "billing" })).reason).toBe("TOKEN_UNKNOWN");
  });

  it("admitWrite(metadata, group) answers and refuses as admit(metadata, { writeGroup: group })", () => {
    const cases: [Metadata, string][] = [
      [bearer("ops-secret"), "shipping"],
      [bearer("ci-secret"), "BILLING"],
      [bearer("ci-secret"), "shipping"],
      [bearer("dash-secret"), "billing"],
      [bearer("guess"), "billing"],
      [withHeader(), "billing"],
    ];
    for (const [metadata, group] of cases) {
      const viaAdmit = (() => {
        try {
          return { principal: gate().admit(metadata, { writeGroup: group }) };
        } catch {
          return refusal(() => gate().admit(metadata, { writeGroup: group }));
        }
      })();
      const viaWrite = (() => {
        try {
          return { principal: gate().admitWrite(metadata, group) };
        } catch {
          return refusal(() => gate().admitWrite(metadata, group));
        }
      })();
      expect(viaWrite, group).toEqual(viaAdmit);
    }
    const stopped = gate();
    stopped.stop();
    expect(refusal(() => stopped.admitWrite(bearer("guess"), "billing"))).toEqual({ reason: "SHUTTING_DOWN", facts: {} });
  });

  it("admits an open call (health, reflection) without a token", () => {
    expect(gate().admit(withHeader(), { open: true })).toBeUndefined();
  });

  it("once stopped refuses every call with SHUTTING_DOWN, open ones and bad tokens included", () => {
    const stopped = gate();
    stopped.stop();
    for (const [metadata, options] of [
      [bearer("ops-secret"), {}],
      [withHeader(), { open: true }],
      [bearer("guess"), { writeGroup: "billing" }],
    ] as const) {
      expect(refusal(() => stopped.admit(metadata, options))).toEqual({ reason: "SHUTTING_DOWN", facts: {} });
    }
  });
});

describe("admission without tokens", () => {
  it("admits every caller as an admin, token or not", () => {
    const gate = new Admission(new AccessPolicy([]));
    expect(gate.admit(withHeader())).toMatchObject({ role: "admin" });
    expect(gate.admit(bearer("anything"), { writeGroup: "billing" })).toMatchObject({ role: "admin" });
    expect(gate.admitWrite(bearer("anything"), "billing")).toBe(gate.admit(withHeader()));
  });
});

describe("admission after a reload", () => {
  it("a new policy applies to the next call: a token taken out is refused, one added admitted", () => {
    const gate = new Admission(new AccessPolicy(TOKENS));
    expect(gate.admit(withHeader("BEARER ops-secret"))).toMatchObject({ name: "ops" });
    gate.setPolicy(new AccessPolicy([{ name: "new", sha256: sha256("new-secret"), role: "read" }]));
    expect(refusal(() => gate.admit(bearer("ops-secret"))).reason).toBe("TOKEN_UNKNOWN");
    expect(gate.admit(bearer("new-secret"))).toMatchObject({ name: "new", role: "read" });
  });
});
