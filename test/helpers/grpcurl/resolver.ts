/**
 * Strict resolution, as grpcurl does it: the files declaring the symbols asked
 * for and, recursively, every file of their `dependency` lists (file_by_filename
 * for anything not received yet), in one registry that refuses a file whose
 * imports are missing or that uses a type it does not import. That is where
 * grpcurl stops with "google.protobuf.Timestamp is not defined".
 */
import { type DescEnum, type DescField, type DescFile, type DescMessage, type FileRegistry, create, createFileRegistry } from "@bufbuild/protobuf";
import { type FileDescriptorProto, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import type { ReflectionClient } from "./client.js";

export interface Resolved {
  registry: FileRegistry;
  /** Every file of the registry, dependencies first, as the server sent them. */
  files: FileDescriptorProto[];
}

/**
 * Resolves the files declaring `symbols` and everything they import, and
 * builds one registry. Files the server sent but nobody imports are left out,
 * so a missing import cannot be papered over by a lucky extra file. Throws
 * when a symbol or a file is unknown, an import cannot be resolved, or a file
 * uses a type from a file it does not import.
 */
export async function resolveSymbols(reflection: ReflectionClient, symbols: string[]): Promise<Resolved> {
  const received = new Map<string, FileDescriptorProto>();
  const remember = (files: FileDescriptorProto[]) => {
    for (const f of files) if (!received.has(f.name)) received.set(f.name, f);
  };
  const roots: string[] = [];
  for (const symbol of symbols) {
    const files = await reflection.fileContainingSymbol(symbol);
    if (files.length === 0) throw new Error(`reflection sent no file for symbol ${symbol}`);
    remember(files);
    roots.push(files[0]!.name);
  }
  const ordered: FileDescriptorProto[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = async (name: string, importedBy: string | undefined): Promise<void> => {
    const seen = state.get(name);
    if (seen === "done") return;
    if (seen === "visiting") throw new Error(`import cycle through ${name}`);
    state.set(name, "visiting");
    if (!received.has(name)) {
      try {
        remember(await reflection.fileByFilename(name));
      } catch (error) {
        throw new Error(`file ${JSON.stringify(name)}${importedBy ? `, imported by ${importedBy},` : ""} could not be fetched: ${(error as Error).message}`);
      }
    }
    const file = received.get(name);
    if (!file) throw new Error(`reflection did not send ${name}, imported by ${importedBy}`);
    for (const dep of file.dependency) await visit(dep, name);
    state.set(name, "done");
    ordered.push(file);
  };
  for (const root of roots) await visit(root, undefined);
  const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: ordered }));
  for (const file of registry.files) checkImports(file);
  return { registry, files: ordered };
}

/** A message type found through reflection, with the registry that resolves its fields. */
export interface ResolvedMessage {
  message: DescMessage;
  registry: FileRegistry;
}

/**
 * The message a `google.protobuf.Any` type URL names, as grpcurl's Any
 * resolver finds it: by asking reflection for the file of the name after the
 * last `/`. Undefined when reflection cannot provide it (not served, or an
 * import missing); grpcurl then prints the packed bytes instead.
 */
export async function resolveTypeUrl(reflection: ReflectionClient, typeUrl: string): Promise<ResolvedMessage | undefined> {
  const name = typeUrl.slice(typeUrl.lastIndexOf("/") + 1);
  try {
    const { registry } = await resolveSymbols(reflection, [name]);
    const message = registry.getMessage(name);
    return message && { message, registry };
  } catch {
    return undefined;
  }
}

/** The files whose types `file` may use: itself, its imports and their public imports. */
function visibleFiles(file: DescFile): Set<string> {
  const visible = new Set([file.name]);
  const addPublic = (f: DescFile) => {
    for (const i of f.proto.publicDependency) {
      const dep = f.dependencies[i];
      if (dep && !visible.has(dep.name)) {
        visible.add(dep.name);
        addPublic(dep);
      }
    }
  };
  for (const dep of file.dependencies) {
    visible.add(dep.name);
    addPublic(dep);
  }
  return visible;
}

/** Like protoc and grpcurl: a type used by a file must come from the file or one of its imports. */
function checkImports(file: DescFile): void {
  const visible = visibleFiles(file);
  const check = (user: string, used: DescMessage | DescEnum | undefined) => {
    if (used && !visible.has(used.file.name)) {
      throw new Error(`${file.proto.name}: ${user} uses ${used.typeName}, which is defined in ${used.file.proto.name}, not imported`);
    }
  };
  const walk = (message: DescMessage) => {
    for (const field of message.fields) {
      check(`${message.typeName}.${field.name}`, fieldTypeOf(field));
    }
    message.nestedMessages.forEach(walk);
  };
  file.messages.forEach(walk);
  for (const service of file.services) {
    for (const method of service.methods) {
      check(`${service.typeName}.${method.name}`, method.input);
      check(`${service.typeName}.${method.name}`, method.output);
    }
  }
}

function fieldTypeOf(field: DescField): DescMessage | DescEnum | undefined {
  switch (field.fieldKind) {
    case "message":
      return field.message;
    case "enum":
      return field.enum;
    case "list":
      return field.listKind === "message" ? field.message : field.listKind === "enum" ? field.enum : undefined;
    case "map":
      return field.mapKind === "message" ? field.message : field.mapKind === "enum" ? field.enum : undefined;
    default:
      return undefined;
  }
}
