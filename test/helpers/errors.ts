import { SrError } from "../../src/domain/errors.js";

/** The SrError `run` throws, or undefined when it returns (anything else thrown is rethrown). */
export function errorOf(run: () => unknown): SrError | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof SrError) return error;
    throw error;
  }
  return undefined;
}

/** The SrError `run` must throw. */
export function thrown(run: () => unknown): SrError {
  const error = errorOf(run);
  if (!error) throw new Error("expected an SrError, but the call returned");
  return error;
}

/** The error `promise` must reject with. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection, but it resolved");
}
