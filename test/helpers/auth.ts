/**
 * Callers with chosen credentials, for the access tests: a gRPC client with
 * an exact `authorization` header (or none) and an optional client
 * certificate, and HTTP(S) requests the same way.
 */
import { createHash } from "node:crypto";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect as tlsConnect } from "node:tls";
import { Client, Metadata, type ServiceError, credentials } from "@grpc/grpc-js";
import { StatusReportServiceService } from "../../gen/ts/sr/v1/sr.js";
import type { TokenConfig } from "../../src/domain/access.js";
import type { KeyPair } from "./certs.js";

export const sha256 = (token: string) => createHash("sha256").update(token).digest("hex");

/** Tokens of every role; `ci` writes to `billing` only. */
export const TOKENS = { ops: "ops-secret-0123", dash: "dash-secret-4567", ci: "ci-secret-89ab" } as const;

export const TOKEN_CONFIG: TokenConfig[] = [
  { name: "ops", sha256: sha256(TOKENS.ops), role: "admin" },
  { name: "dash", sha256: sha256(TOKENS.dash), role: "read" },
  { name: "ci", sha256: sha256(TOKENS.ci), role: "write", groups: ["billing"] },
];

/** How a caller reaches the server: TLS trust and client certificate (none: plaintext), and its header. */
export interface Identity {
  /** The CA to trust the server by; undefined for plaintext. */
  ca?: Buffer | undefined;
  client?: KeyPair | undefined;
  /** The exact `authorization` value; undefined sends none. */
  authorization?: string | undefined;
}

export const bearer = (token: string) => `Bearer ${token}`;

export type Method = keyof typeof StatusReportServiceService;

/** A gRPC client of StatusReportService calling with `identity`'s credentials. */
export class Caller {
  readonly client: Client;

  constructor(
    address: string,
    private readonly identity: Identity,
  ) {
    const creds = identity.ca
      ? credentials.createSsl(identity.ca, identity.client?.keyPem ?? null, identity.client?.certPem ?? null)
      : credentials.createInsecure();
    // The server certificate names localhost too; naming it keeps Node from warning about an IP as SNI.
    this.client = new Client(address, creds, identity.ca ? { "grpc.ssl_target_name_override": "localhost" } : {});
  }

  metadata(): Metadata {
    const metadata = new Metadata();
    if (this.identity.authorization !== undefined) metadata.set("authorization", this.identity.authorization);
    return metadata;
  }

  /** One unary call of StatusReportService; rejects with the ServiceError. */
  unary(method: Method, request: object): Promise<unknown> {
    const def = StatusReportServiceService[method] as unknown as {
      path: string;
      requestSerialize(value: unknown): Buffer;
      responseDeserialize(bytes: Buffer): unknown;
    };
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, request, this.metadata(), (error, value) =>
        error ? reject(error) : resolve(value),
      );
    });
  }

  /** A WatchStatus that resolves with its first message and is then cancelled. */
  watchFirst(request: object): Promise<unknown> {
    const def = StatusReportServiceService.watchStatus;
    return new Promise((resolve, reject) => {
      const call = this.client.makeServerStreamRequest(def.path, def.requestSerialize as (v: object) => Buffer, def.responseDeserialize, request, this.metadata());
      call.once("data", (message) => {
        resolve(message);
        call.cancel();
      });
      call.on("error", (error: ServiceError) => reject(error));
    });
  }

  /** grpc.health.v1 Check of "" (an empty request). */
  healthCheck(): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const id = (b: Buffer) => b;
      this.client.makeUnaryRequest("/grpc.health.v1.Health/Check", id, id, Buffer.alloc(0), this.metadata(), (error, value) =>
        error ? reject(error) : resolve(value),
      );
    });
  }

  close(): void {
    this.client.close();
  }
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP(S) request to `address` with `identity` (HTTPS when it has a CA); a body makes it a POST. */
export function fetchAs(address: string, path: string, identity: Identity, body?: string): Promise<HttpAnswer> {
  const [host, port] = [address.slice(0, address.lastIndexOf(":")), Number(address.slice(address.lastIndexOf(":") + 1))];
  const headers: Record<string, string> = identity.authorization === undefined ? {} : { authorization: identity.authorization };
  const options = { host, port, path, method: body === undefined ? "GET" : "POST", headers, agent: false as const };
  const tls = identity.ca ? { ca: identity.ca, cert: identity.client?.certPem, key: identity.client?.keyPem, servername: "localhost" } : undefined;
  return new Promise((resolve, reject) => {
    const req = (tls ? httpsRequest({ ...options, ...tls }, answer) : httpRequest(options, answer)).on("error", reject);
    function answer(res: import("node:http").IncomingMessage) {
      // An event stream (GET /events) never ends by itself: its status and headers are the answer.
      if (String(res.headers["content-type"]).startsWith("text/event-stream")) {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: "" });
        res.destroy();
        return;
      }
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    }
    req.end(body);
  });
}

/** The serial number of the certificate a TLS listener presents now, to see a rotation. */
export function servedSerial(address: string, ca: Buffer, client?: KeyPair): Promise<string> {
  const port = Number(address.slice(address.lastIndexOf(":") + 1));
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: "127.0.0.1", port, ca, servername: "localhost", ALPNProtocols: ["h2", "http/1.1"], cert: client?.certPem, key: client?.keyPem }, () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.destroy();
    });
    socket.on("error", reject);
  });
}
