/**
 * A strict grpcurl stand-in for the tests (grpcurl itself cannot be installed
 * here). Like grpcurl it knows nothing but what gRPC server reflection tells
 * it, refuses descriptors whose imports do not resolve, and prints what
 * grpcurl prints, error details included.
 */
export * from "./client.js";
export * from "./command.js";
export { codeName, describe, formatMessage, formatStatus, leadingComment, readStatus } from "./printer.js";
export * from "./resolver.js";
