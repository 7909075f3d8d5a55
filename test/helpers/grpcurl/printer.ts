/**
 * What the grpcurl stand-in prints, in grpcurl's own format: messages as
 * jsonpb writes them through Go's encoding/json (two-space indent, fields by
 * number, map keys sorted, `<`, `>` and `&` escaped), a failed call as
 * grpcurl's PrintStatus does (each google.rpc.Status detail as an Any:
 * "@type" and the message's fields, keys sorted), and `describe` text.
 */
import { GRPC_CODE_LABELS } from "../../../src/transport/grpc/metrics.js";
import {
  type DescEnum,
  type DescField,
  type DescFile,
  type DescMessage,
  type DescMethod,
  type DescService,
  type FileRegistry,
  type JsonValue,
  fromBinary,
  toJson,
} from "@bufbuild/protobuf";
import { FieldDescriptorProto_Label as Label, FieldDescriptorProto_Type as Type } from "@bufbuild/protobuf/wkt";
import type { CallError, PackedDetail } from "./client.js";
import type { ResolvedMessage } from "./resolver.js";

// ---------------------------------------------------------------------------
// JSON, as grpcurl prints it.
// ---------------------------------------------------------------------------

/** JSON whose objects keep the order they are printed in (a Map, so numeric keys stay put). */
type Printed = null | boolean | number | string | Printed[] | Map<string, Printed>;

/** Go's encoding/json escapes these even inside strings, so grpcurl's output shows them escaped. */
const GO_ESCAPED = /[<>&\u2028\u2029]/g;

const quote = (value: null | boolean | number | string) =>
  JSON.stringify(value).replace(GO_ESCAPED, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);

/** Go's json.Indent with two spaces. */
function render(value: Printed, indent = ""): string {
  if (!(value instanceof Map) && !Array.isArray(value)) return quote(value);
  const inner = `${indent}  `;
  const items =
    value instanceof Map ? [...value].map(([k, v]) => `${quote(k)}: ${render(v, inner)}`) : value.map((v) => render(v, inner));
  const [open, close] = value instanceof Map ? ["{", "}"] : ["[", "]"];
  return items.length === 0 ? open + close : `${open}\n${items.map((item) => inner + item).join(",\n")}\n${indent}${close}`;
}

const byKey = ([a]: [string, unknown], [b]: [string, unknown]) => (a < b ? -1 : a > b ? 1 : 0);

/** Plain JSON as printed, in its own key order (well-known types' JSON forms). */
function asPrinted(json: JsonValue): Printed {
  if (Array.isArray(json)) return json.map(asPrinted);
  if (json === null || typeof json !== "object") return json;
  return new Map(Object.entries(json).map(([k, v]) => [k, asPrinted(v)]));
}

/** A message's proto3 JSON in the order jhump's dynamic messages print it: fields by number, map keys sorted. */
function inPrintOrder(message: DescMessage | undefined, json: JsonValue): Printed {
  if (Array.isArray(json)) return json.map((v) => inPrintOrder(message, v));
  if (!message || message.file.name.startsWith("google/protobuf/") || json === null || typeof json !== "object") return asPrinted(json);
  const out = new Map<string, Printed>();
  for (const field of [...message.fields].sort((a, b) => a.number - b.number)) {
    const value = json[field.jsonName];
    if (value === undefined) continue;
    if (field.fieldKind === "map") {
      const entries = Object.entries(value as Record<string, JsonValue>).sort(byKey);
      out.set(field.jsonName, new Map(entries.map(([k, v]) => [k, inPrintOrder(field.message, v)])));
    } else {
      out.set(field.jsonName, inPrintOrder(field.message, value));
    }
  }
  return out;
}

/** One message of a call's output. */
export function formatMessage(message: DescMessage, bytes: Uint8Array, registry: FileRegistry): string {
  return render(inPrintOrder(message, toJson(message, fromBinary(message, bytes), { registry })));
}

/**
 * A packed detail as jsonpb writes an Any: the message's JSON with "@type"
 * added and, because jsonpb rebuilds it as a Go map, every top-level key
 * sorted. A type reflection could not provide prints as grpcurl's fallback.
 */
function detailJson(detail: PackedDetail, type: ResolvedMessage | undefined): Printed {
  let fields: [string, Printed][];
  if (type) {
    const json = inPrintOrder(type.message, toJson(type.message, fromBinary(type.message, detail.value), { registry: type.registry }));
    // A well-known type with a JSON form of its own goes under "value", as jsonpb writes it.
    fields = json instanceof Map ? [...json] : [["value", json]];
  } else {
    const name = detail.typeUrl.slice(detail.typeUrl.lastIndexOf("/") + 1);
    fields = [
      ["@error", `${name} is not recognized; see @value for raw binary message data`],
      ["@value", Buffer.from(detail.value).toString("base64")],
    ];
  }
  return new Map([["@type", detail.typeUrl] as [string, Printed], ...fields].sort(byKey));
}

/** grpc-go's names of the status codes, which grpcurl prints (the same names go-grpc-prometheus's labels use). */
const CODE_NAMES = GRPC_CODE_LABELS;

export const codeName = (code: number) => CODE_NAMES[code] ?? `Code(${code})`;

/** grpcurl's PrintStatus: code, message, then each detail, its JSON lines indented past "  N)" and a tab. */
export function formatStatus(error: CallError, types: (ResolvedMessage | undefined)[]): string {
  const lines = ["ERROR:", `  Code: ${codeName(error.code)}`, `  Message: ${error.details}`];
  if (error.statusDetails.length > 0) lines.push("  Details:");
  error.statusDetails.forEach((detail, i) => {
    const prefix = `  ${i + 1})`;
    const [first, ...rest] = render(detailJson(detail, types[i])).split("\n");
    lines.push(`${prefix}\t${first}`, ...rest.map((line) => `${" ".repeat(prefix.length)}\t${line}`));
  });
  return `${lines.join("\n")}\n`;
}

/** formatStatus's text read back, as a script would read grpcurl's stderr: code name, message, each detail's JSON. */
export function readStatus(text: string): { code?: string; message?: string; details: Record<string, any>[] } {
  const [head = "", details = ""] = text.split("\n  Details:\n");
  const [, code, message] = /^ERROR:\n {2}Code: (\w+)\n {2}Message: (.*)$/.exec(head.trimEnd()) ?? [];
  const parts = details.split(/^ {2}\d+\)\t/m).filter((part) => part.trim() !== "");
  return { code, message, details: parts.map((part) => JSON.parse(part.replace(/^ +\t/gm, "")) as Record<string, any>) };
}

// ---------------------------------------------------------------------------
// Comments and describe output.
// ---------------------------------------------------------------------------
type Described = DescService | DescMethod | DescMessage | DescEnum | DescField;

/** The source path of a descriptor inside its file (descriptor.proto field numbers). */
function sourcePath(desc: Described): number[] {
  switch (desc.kind) {
    case "service":
      return [6, desc.file.proto.service.indexOf(desc.proto)];
    case "rpc":
      return [...sourcePath(desc.parent), 2, desc.parent.proto.method.indexOf(desc.proto)];
    case "message":
      return desc.parent
        ? [...sourcePath(desc.parent), 3, desc.parent.proto.nestedType.indexOf(desc.proto)]
        : [4, desc.file.proto.messageType.indexOf(desc.proto)];
    case "enum":
      return desc.parent
        ? [...sourcePath(desc.parent), 4, desc.parent.proto.enumType.indexOf(desc.proto)]
        : [5, desc.file.proto.enumType.indexOf(desc.proto)];
    case "field":
      return [...sourcePath(desc.parent), 2, desc.parent.proto.field.indexOf(desc.proto)];
  }
}

function fileOf(desc: Described): DescFile {
  switch (desc.kind) {
    case "rpc":
      return desc.parent.file;
    case "field":
      return desc.parent.file;
    default:
      return desc.file;
  }
}

/** The leading comment of a descriptor from the file's source_code_info, if the server kept it. */
export function leadingComment(desc: Described): string | undefined {
  const path = sourcePath(desc);
  const location = fileOf(desc).proto.sourceCodeInfo?.location.find(
    (l) => l.path.length === path.length && l.path.every((p, i) => p === path[i]),
  );
  return location?.leadingComments || undefined;
}

function commentLines(desc: Described, indent: string): string[] {
  const comment = leadingComment(desc);
  if (comment === undefined) return [];
  return comment.replace(/\n$/, "").split("\n").map((line) => `${indent}//${line}`);
}

const SCALAR_NAMES: Partial<Record<Type, string>> = {
  [Type.DOUBLE]: "double",
  [Type.FLOAT]: "float",
  [Type.INT64]: "int64",
  [Type.UINT64]: "uint64",
  [Type.INT32]: "int32",
  [Type.FIXED64]: "fixed64",
  [Type.FIXED32]: "fixed32",
  [Type.BOOL]: "bool",
  [Type.STRING]: "string",
  [Type.BYTES]: "bytes",
  [Type.UINT32]: "uint32",
  [Type.SFIXED32]: "sfixed32",
  [Type.SFIXED64]: "sfixed64",
  [Type.SINT32]: "sint32",
  [Type.SINT64]: "sint64",
};

function typeText(proto: { type: Type; typeName: string }): string {
  return SCALAR_NAMES[proto.type] ?? proto.typeName;
}

function fieldLines(field: DescField, indent: string): string[] {
  const p = field.proto;
  let type: string;
  if (field.fieldKind === "map") {
    // ScalarType numbers are FieldDescriptorProto.Type numbers.
    const key = SCALAR_NAMES[field.mapKey as number as Type];
    const value =
      field.mapKind === "scalar" ? SCALAR_NAMES[field.scalar as number as Type] : `.${(field.message ?? field.enum)!.typeName}`;
    type = `map<${key}, ${value}>`;
  } else {
    const label = p.label === Label.REPEATED ? "repeated " : p.proto3Optional ? "optional " : "";
    type = label + typeText(p);
  }
  return [...commentLines(field, indent), `${indent}${type} ${field.name} = ${field.number};`];
}

function messageLines(message: DescMessage, indent: string): string[] {
  const lines = [...commentLines(message, indent), `${indent}message ${message.name} {`];
  const inner = `${indent}  `;
  const printedOneofs = new Set<number>();
  for (const field of message.fields) {
    const oneof = field.oneof;
    const index = field.proto.oneofIndex;
    if (oneof && index !== undefined && !field.proto.proto3Optional) {
      if (printedOneofs.has(index)) continue;
      printedOneofs.add(index);
      lines.push(`${inner}oneof ${oneof.name} {`);
      for (const member of oneof.fields) lines.push(...fieldLines(member, `${inner}  `));
      lines.push(`${inner}}`);
      continue;
    }
    lines.push(...fieldLines(field, inner));
  }
  for (const nested of message.nestedMessages) {
    if (nested.proto.options?.mapEntry) continue;
    lines.push(...messageLines(nested, inner));
  }
  for (const nested of message.nestedEnums) lines.push(...enumLines(nested, inner));
  lines.push(`${indent}}`);
  return lines;
}

function enumLines(e: DescEnum, indent: string): string[] {
  return [
    ...commentLines(e, indent),
    `${indent}enum ${e.name} {`,
    ...e.values.map((v) => `${indent}  ${v.name} = ${v.number};`),
    `${indent}}`,
  ];
}

function methodLine(method: DescMethod, indent: string): string[] {
  const client = method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming" ? "stream " : "";
  const server = method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming" ? "stream " : "";
  return [
    ...commentLines(method, indent),
    `${indent}rpc ${method.name} ( ${client}.${method.input.typeName} ) returns ( ${server}.${method.output.typeName} );`,
  ];
}

function serviceLines(service: DescService): string[] {
  return [
    ...commentLines(service, ""),
    `service ${service.name} {`,
    ...service.methods.flatMap((m) => methodLine(m, "  ")),
    "}",
  ];
}

/** grpcurl's `describe` text for one symbol (service, method, message or enum). */
export function describe(registry: FileRegistry, symbol: string): string {
  const service = registry.getService(symbol);
  if (service) return [`${symbol} is a service:`, ...serviceLines(service)].join("\n");
  const message = registry.getMessage(symbol);
  if (message) return [`${symbol} is a message:`, ...messageLines(message, "")].join("\n");
  const e = registry.getEnum(symbol);
  if (e) return [`${symbol} is an enum:`, ...enumLines(e, "")].join("\n");
  const dot = symbol.lastIndexOf(".");
  const method = registry.getService(symbol.slice(0, dot))?.methods.find((m) => m.name === symbol.slice(dot + 1));
  if (method) return [`${symbol} is a method:`, ...methodLine(method, "")].join("\n");
  throw new Error(`Symbol "${symbol}" not found`);
}
