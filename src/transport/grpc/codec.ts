import { BinaryReader } from "@bufbuild/protobuf/wire";
import type { ServiceDefinition } from "@grpc/grpc-js";

const strict = new TextDecoder("utf-8", { fatal: true });
const lenient = new TextDecoder("utf-8");

/**
 * Decodes protobuf strings so that invalid UTF-8 stays detectable: such a
 * string starts with a lone surrogate, which valid UTF-8 can never produce,
 * and the domain refuses it as "must be valid UTF-8" naming the field. The
 * default decoder would silently replace the bad bytes with U+FFFD.
 */
export function markInvalidUtf8(bytes: Uint8Array): string {
  try {
    return strict.decode(bytes);
  } catch {
    return `\uDC80${lenient.decode(bytes)}`;
  }
}

interface Decoder<T> {
  decode(input: BinaryReader | Uint8Array): T;
}

/** The generated definition with request decoding that keeps invalid UTF-8 visible. */
export function withStrictUtf8<D extends ServiceDefinition>(definition: D, messages: Record<string, Decoder<unknown>>): D {
  const out: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(definition)) {
    const decoder = messages[name];
    out[name] = decoder
      ? { ...method, requestDeserialize: (buf: Buffer) => decoder.decode(new BinaryReader(buf, markInvalidUtf8)) }
      : method;
  }
  return out as D;
}
