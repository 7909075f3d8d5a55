/**
 * The gRPC listener's own counts of connections, streams and calls, read from
 * grpc-js's built-in channelz (on unless `grpc.enable_channelz` is 0). grpc-js
 * emits no public session events and keeps its HTTP/2 servers private;
 * channelz is its public view of them. Its handlers answer synchronously, so
 * they are called in-process, without serving the channelz service.
 */
import { type Server, getChannelzHandlers } from "@grpc/grpc-js";

export interface ConnectionCounts {
  /** Open HTTP/2 connections (sessions). */
  sessions: number;
  /** Streams open on them, whatever they carry. */
  streams: number;
  /** gRPC calls started and not yet ended. */
  calls: number;
}

/** Channelz counters arrive as numbers or decimal strings (uint64). */
type Count = number | string | undefined;
interface Tracked {
  started: Count;
  succeeded: Count;
  failed: Count;
}

type Callback = (error: unknown, response?: unknown) => void;

/** One channelz handler's answer, or undefined when it has none (an entity gone meanwhile). */
function ask<T>(handler: unknown, request: Record<string, string>): T | undefined {
  let answer: T | undefined;
  try {
    (handler as (call: { request: object }, callback: Callback) => void)({ request }, (error, response) => {
      if (!error) answer = response as T;
    });
  } catch {
    return undefined;
  }
  return answer;
}

const open = ({ started, succeeded, failed }: Tracked) => Number(started ?? 0) - Number(succeeded ?? 0) - Number(failed ?? 0);

interface ServerAnswer {
  server?: { data?: { calls_started: Count; calls_succeeded: Count; calls_failed: Count } };
}
interface SocketsAnswer {
  socket_ref: { socket_id: Count }[];
  end: boolean;
}
interface SocketAnswer {
  socket?: { data?: { streams_started: Count; streams_succeeded: Count; streams_failed: Count } };
}

const PAGE = 100;

/** What `server` holds open now; all zero once it has shut down (channelz forgets it). */
export function connectionCounts(server: Server): ConnectionCounts {
  const channelz = getChannelzHandlers();
  const serverId = String(server.getChannelzRef().id);
  const data = ask<ServerAnswer>(channelz.GetServer, { server_id: serverId })?.server?.data;
  if (!data) return { sessions: 0, streams: 0, calls: 0 };
  const counts = { sessions: 0, streams: 0, calls: open({ started: data.calls_started, succeeded: data.calls_succeeded, failed: data.calls_failed }) };
  let from = 0;
  for (;;) {
    const page = ask<SocketsAnswer>(channelz.GetServerSockets, { server_id: serverId, start_socket_id: String(from), max_results: String(PAGE) });
    if (!page) break;
    for (const ref of page.socket_ref) {
      counts.sessions++;
      const socket = ask<SocketAnswer>(channelz.GetSocket, { socket_id: String(ref.socket_id) })?.socket?.data;
      if (socket) counts.streams += open({ started: socket.streams_started, succeeded: socket.streams_succeeded, failed: socket.streams_failed });
      from = Number(ref.socket_id) + 1;
    }
    if (page.end || page.socket_ref.length === 0) break;
  }
  return counts;
}
