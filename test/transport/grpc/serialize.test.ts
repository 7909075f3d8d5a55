/**
 * The unary answers' serializers (service.ts) share one protobuf writer: each
 * answer's bytes are exactly what the generated encoder makes, whatever was
 * encoded before it, a failed encoding included.
 */
import { describe, expect, it } from "vitest";
import { GetStatusResponse, SetStatusResponse } from "../../../gen/ts/sr/v1/sr.js";
import { statusReportDefinition } from "../../../src/transport/grpc/service.js";

const status = (identifier: string, details?: string) => ({
  group: "billing",
  identifier,
  status: -1,
  details,
  ready: false,
  revision: 7n,
  updateTime: new Date(1_700_000_000_123),
});

describe("unary response serializers", () => {
  it("answer the generated encoding, one answer after another", () => {
    const serialize = statusReportDefinition.getStatus.responseSerialize;
    const answers = [
      { status: status("a-rather-long-identifier-name-".repeat(10), "d".repeat(300)), revision: 9n },
      { status: status("w0"), revision: 10n },
      { status: undefined, revision: 0n },
    ];
    for (const answer of answers) expect(serialize(answer)).toEqual(Buffer.from(GetStatusResponse.encode(answer).finish()));
    const set = statusReportDefinition.setStatus.responseSerialize;
    expect(set({ changed: false, oldStatus: -1, revision: 3n })).toEqual(Buffer.from(SetStatusResponse.encode({ changed: false, oldStatus: -1, revision: 3n }).finish()));
  });

  it("start afresh after an answer that does not encode", () => {
    const serialize = statusReportDefinition.getStatus.responseSerialize;
    // Fails half way: the status is written, then the revision is not a number.
    expect(() => serialize({ status: status("w0"), revision: "x" as unknown as bigint })).toThrow();
    const answer = { status: status("w1"), revision: 11n };
    expect(serialize(answer)).toEqual(Buffer.from(GetStatusResponse.encode(answer).finish()));
  });
});
