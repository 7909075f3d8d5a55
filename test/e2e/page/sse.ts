/**
 * A raw server-sent events client, like `curl -N`: one HTTP/1.1 request on a
 * socket of its own, the bytes parsed into events as they come (RFC 8895 /
 * the HTML spec's parser: `id:`, `data:`, comment lines), and the socket can
 * be paused to play a reader that stops reading.
 */
import { type ClientRequest, type IncomingMessage, request } from "node:http";
import { Arrivals } from "../../helpers/wait.js";

export interface SseEvent {
  id: string | undefined;
  data: string;
  /** `data` parsed (every event of /events is one JSON object). */
  json: any;
}

export class SseClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  status = 0;
  headers: IncomingMessage["headers"] = {};
  /** The body of a refusal (anything but an event stream). */
  body = "";
  ended = false;
  private rest = "";
  private data: string[] = [];
  private id: string | undefined;
  private res: IncomingMessage | undefined;
  private readonly req: ClientRequest;
  private readonly arrivals = new Arrivals();
  readonly ready: Promise<void>;

  constructor(base: string, path: string, headers: Record<string, string> = {}) {
    this.req = request(`${base}${path}`, { headers: { Accept: "text/event-stream", ...headers }, agent: false });
    this.ready = new Promise((resolve, reject) => {
      this.req.on("error", (error) => {
        this.ended = true;
        this.arrivals.notify();
        reject(error);
      });
      this.req.on("response", (res) => {
        this.res = res;
        this.status = res.statusCode ?? 0;
        this.headers = res.headers;
        res.setEncoding("utf8");
        const stream = String(res.headers["content-type"]).startsWith("text/event-stream");
        res.on("data", (chunk: string) => {
          if (stream) this.parse(chunk);
          else this.body += chunk;
          this.arrivals.notify();
        });
        res.on("end", () => {
          this.ended = true;
          this.arrivals.notify();
        });
        res.on("error", () => {});
        resolve();
      });
    });
    this.req.end();
  }

  private parse(chunk: string): void {
    const lines = (this.rest + chunk).split(/\r\n|\r|\n/);
    this.rest = lines.pop() ?? "";
    for (const line of lines) {
      if (line === "") {
        if (this.data.length > 0) {
          const data = this.data.join("\n");
          this.events.push({ id: this.id, data, json: JSON.parse(data) });
        }
        this.data = [];
        this.id = undefined;
      } else if (line.startsWith(":")) {
        this.comments.push(line.slice(1).trim());
      } else {
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "data") this.data.push(value);
        else if (field === "id") this.id = value;
      }
    }
  }

  /** Waits until `test` holds over what arrived. */
  async until(what: string, test: (c: this) => boolean, timeoutMs = 5_000): Promise<void> {
    await this.arrivals.until(
      what,
      () => test(this),
      timeoutMs,
      () => (this.ended && !test(this) ? "the stream ended" : undefined),
      () => `status ${this.status}, ${this.events.length} event(s), the last: ${this.events.at(-1)?.data.slice(0, 300) ?? "none"}; body: ${this.body}`,
    );
  }

  /** Waits for the response's status and headers (and the whole body of a refusal). */
  async answered(): Promise<void> {
    await this.ready;
    if (!String(this.headers["content-type"]).startsWith("text/event-stream")) await this.until("the end of the refusal", (c) => c.ended);
  }

  pause(): void {
    this.res?.pause();
  }

  resume(): void {
    this.res?.resume();
  }

  close(): void {
    this.req.destroy();
    this.res?.destroy();
  }
}

/** The events of a snapshot, up to its last part, from `from`. */
export function snapshotEnd(events: readonly SseEvent[], from = 0): number {
  return events.findIndex((e, i) => i >= from && e.json.snapshot?.last === true);
}
