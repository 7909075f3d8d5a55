/**
 * The few etcd v3 messages the fan-out baseline needs (etcdserverpb, rpc.proto
 * and mvccpb/kv.proto), encoded by hand: Put, a Watch create request, and the
 * events of a WatchResponse. Field numbers are etcd's.
 */
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

export const PUT = "/etcdserverpb.KV/Put";
export const WATCH = "/etcdserverpb.Watch/Watch";

/** PutRequest { key = 1; value = 2 } */
export function putRequest(key: string, value: string): Buffer {
  return Buffer.from(new BinaryWriter().uint32(10).string(key).uint32(18).string(value).finish());
}

/** WatchRequest { create_request = 1: WatchCreateRequest { key = 1 } } */
export function watchCreate(key: string): Buffer {
  const create = new BinaryWriter().uint32(10).string(key).finish();
  return Buffer.from(new BinaryWriter().uint32(10).bytes(create).finish());
}

export interface WatchResponse {
  created: boolean;
  canceled: boolean;
  /** The `value` of each event's key-value, in order. */
  values: string[];
}

/** WatchResponse { created = 3; canceled = 4; events = 11: Event { kv = 2: KeyValue { value = 5 } } } */
export function decodeWatchResponse(bytes: Uint8Array): WatchResponse {
  const out: WatchResponse = { created: false, canceled: false, values: [] };
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (field === 3 && wire === WireType.Varint) out.created = r.bool();
    else if (field === 4 && wire === WireType.Varint) out.canceled = r.bool();
    else if (field === 11 && wire === WireType.LengthDelimited) out.values.push(eventValue(r.bytes()));
    else r.skip(wire);
  }
  return out;
}

function eventValue(event: Uint8Array): string {
  const r = new BinaryReader(event);
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (field !== 2 || wire !== WireType.LengthDelimited) {
      r.skip(wire);
      continue;
    }
    const kv = new BinaryReader(r.bytes());
    while (kv.pos < kv.len) {
      const [f, w] = kv.tag();
      if (f === 5 && w === WireType.LengthDelimited) return Buffer.from(kv.bytes()).toString();
      kv.skip(w);
    }
  }
  return "";
}
