import { Metadata, status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { SrError, SrClient, decodeErrorDetails } from "../../../clients/ts/index.js";
import { ErrorInfo } from "../../../gen/ts/google/rpc/error_details.js";
import { Status } from "../../../gen/ts/google/rpc/status.js";
import { groupNotFound, invalidArgument, SrError as DomainError } from "../../../src/domain/errors.js";
import { STATUS_DETAILS_KEY } from "../../../src/protocol/wire.js";
import { grpcErrorOf } from "../../../src/transport/grpc/errors.js";
import { serverPerFile } from "../../helpers/rpc.js";
import type { TestServer } from "../../helpers/server.js";

/** A failed call's status as the server sends it, rich details included. */
const sent = (error: DomainError) => {
  const { code, details, metadata } = grpcErrorOf(error);
  return { code, details, metadata: metadata ?? new Metadata() };
};

describe("decodeErrorDetails", () => {
  it("reads back the ErrorInfo, BadRequest and ResourceInfo the server encodes", () => {
    const notFound = decodeErrorDetails(sent(groupNotFound("billing")).metadata);
    expect(notFound.status).toMatchObject({ code: status.NOT_FOUND, message: "group 'billing' not found" });
    expect(notFound.errorInfo).toEqual({ reason: "GROUP_NOT_FOUND", domain: "sr.v1", metadata: { group: "billing" } });
    expect(notFound.resourceInfo).toMatchObject({ resourceType: "sr.v1.Group", resourceName: "billing" });
    expect(notFound.badRequest).toBeUndefined();

    const invalid = decodeErrorDetails(sent(invalidArgument("STATUS_ZERO", "status", "must not be 0")).metadata);
    expect(invalid.errorInfo).toMatchObject({ reason: "STATUS_ZERO", metadata: { field: "status" } });
    expect(invalid.badRequest?.fieldViolations).toEqual([
      expect.objectContaining({ field: "status", description: "status: must not be 0", reason: "STATUS_ZERO" }),
    ]);
  });

  it("gives nothing for absent or malformed details rather than failing", () => {
    expect(decodeErrorDetails(new Metadata())).toEqual({});
    const garbage = new Metadata();
    garbage.set(STATUS_DETAILS_KEY, Buffer.from([0xff, 0xff, 0xff]));
    expect(decodeErrorDetails(garbage)).toEqual({});
    // A Status whose detail is not the message its type names: that detail is left out.
    const bad = new Metadata();
    const broken = { typeUrl: "type.googleapis.com/google.rpc.ErrorInfo", value: Buffer.from([0x0a, 0x7f]) };
    bad.set(STATUS_DETAILS_KEY, Buffer.from(Status.encode({ code: 5, message: "m", details: [broken] }).finish()));
    expect(decodeErrorDetails(bad)).toEqual({ status: { code: 5, message: "m", details: [broken] } });
  });
});

describe("SrError", () => {
  it("keeps grpc-js's code, details, metadata and message, and adds the reason and its facts", () => {
    const error = new SrError(sent(groupNotFound("billing")));
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ code: status.NOT_FOUND, details: "group 'billing' not found", message: "5 NOT_FOUND: group 'billing' not found" });
    expect(error).toMatchObject({ reason: "GROUP_NOT_FOUND", domain: "sr.v1", errorMetadata: { group: "billing" }, fieldViolations: [] });
    expect(error.oldestRevision).toBeUndefined();
  });

  it("has no reason for an error without details, or from another domain", () => {
    expect(new SrError({ code: status.UNAVAILABLE, details: "No connection established", metadata: new Metadata() })).toMatchObject({
      reason: undefined,
      domain: undefined,
      errorMetadata: {},
      fieldViolations: [],
    });
    // The same reason from another domain is not this service's.
    const info = { reason: "GROUP_NOT_FOUND", domain: "zz.v9", metadata: {} };
    const detail = { typeUrl: "type.googleapis.com/google.rpc.ErrorInfo", value: Buffer.from(ErrorInfo.encode(info).finish()) };
    const other = new Metadata();
    other.set(STATUS_DETAILS_KEY, Buffer.from(Status.encode({ code: status.NOT_FOUND, message: "x", details: [detail] }).finish()));
    expect(new SrError({ code: status.NOT_FOUND, details: "x", metadata: other })).toMatchObject({ reason: undefined, domain: "zz.v9" });
  });
});

describe("error reasons on the wire", () => {
  let srv: TestServer;
  let client: SrClient;
  serverPerFile((s, c) => {
    srv = s;
    client = c;
  });

  it("a NOT_FOUND call rejects with its reason and resource", async () => {
    const error = await client.getStatus({ group: "nope" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SrError);
    expect(error).toMatchObject({ code: status.NOT_FOUND, details: expect.stringContaining("nope"), reason: "GROUP_NOT_FOUND" });
    expect(error).toMatchObject({ errorMetadata: { group: "nope" }, resourceInfo: { resourceName: "nope" } });
    srv.registry.registerGroup({ group: "g" });
    await expect(client.checkStatus({ group: "g", identifier: "db" })).rejects.toMatchObject({
      reason: "IDENTIFIER_NOT_FOUND",
      errorMetadata: { group: "g", identifier: "db" },
    });
  });

  it("an INVALID_ARGUMENT call names the field it violates", async () => {
    srv.registry.registerGroup({ group: "h" });
    await expect(client.setStatus({ group: "h", status: 0 })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      reason: "STATUS_ZERO",
      fieldViolations: [expect.objectContaining({ field: "status", reason: "STATUS_ZERO" })],
    });
  });
});
