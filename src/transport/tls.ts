/**
 * The TLS material of both listeners: the certificate, its key and the client
 * CA, read from files, validated before use and re-read on a timer so that a
 * rotated certificate is picked up without a restart. Polling rather than a
 * file watcher, because cert-manager and kubelet swap a symlink to a new
 * directory, which watchers on the old path never see.
 */
import { readFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import { type SecureContextOptions, createSecureContext } from "node:tls";
import type { experimental } from "@grpc/grpc-js";
import type { TlsConfig } from "./listen.js";

export const DEFAULT_RELOAD_INTERVAL_MS = 10_000;

/** One certificate, its key and the optional client CA, as PEM bytes. */
interface Material {
  cert: Buffer;
  key: Buffer;
  ca: Buffer | undefined;
}

function read(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new Error(`tls.${what}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

function readMaterial(files: TlsConfig): Material {
  return { cert: read(files.cert, "cert"), key: read(files.key, "key"), ca: files.clientCa ? read(files.clientCa, "client_ca") : undefined };
}

/** Reads `files` and throws, naming the file and the fault, unless they make a usable pair. */
function load(files: TlsConfig, material: Material = readMaterial(files)): Material {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(material.cert);
  } catch (error) {
    throw new Error(`tls.cert: ${files.cert} holds no PEM certificate (${(error as Error).message})`);
  }
  if (Date.parse(leaf.validTo) < Date.now()) throw new Error(`tls.cert: ${files.cert} expired on ${leaf.validTo}`);
  if (material.ca) {
    try {
      new X509Certificate(material.ca);
    } catch (error) {
      throw new Error(`tls.client_ca: ${files.clientCa} holds no PEM certificate (${(error as Error).message})`);
    }
  }
  try {
    // What the listeners will do with it: this fails on a key that is not the certificate's.
    createSecureContext({ cert: material.cert, key: material.key, ca: material.ca });
  } catch (error) {
    throw new Error(`tls: ${files.cert} and ${files.key} are not a usable pair (${(error as Error).message})`);
  }
  return material;
}

const same = (a: Material, b: Material) =>
  a.cert.equals(b.cert) && a.key.equals(b.key) && (a.ca === undefined ? b.ca === undefined : b.ca !== undefined && a.ca.equals(b.ca));

type Listener = () => void;

/**
 * The current material of one `tls` configuration. Feeds grpc-js (as its
 * certificate provider) and the HTTPS listener (`onChange`), so both always
 * serve the same certificate. A change that does not validate keeps the
 * current material and is logged once.
 */
export class CertificateSource implements experimental.CertificateProvider {
  private files: TlsConfig;
  private material: Material;
  private readonly listeners = new Set<Listener>();
  private rejected: string | undefined;
  private readonly timer: NodeJS.Timeout;
  /** grpc-js's listeners, each with the removal of its `onChange`. */
  private readonly grpcListeners = new Map<unknown, () => void>();

  /** Throws when the files are not a usable pair: a server does not start with a broken certificate. */
  constructor(
    files: TlsConfig,
    private readonly log: (line: string) => void,
  ) {
    this.files = files;
    this.material = load(files);
    this.timer = setInterval(() => this.check(), files.reloadIntervalMs ?? DEFAULT_RELOAD_INTERVAL_MS);
    this.timer.unref();
  }

  get requestsClientCertificates(): boolean {
    return this.files.clientCa !== undefined;
  }

  get contextOptions(): SecureContextOptions {
    return { cert: this.material.cert, key: this.material.key, ca: this.material.ca };
  }

  /** Calls `listener` after every change of material; returns its removal. */
  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Re-reads the files and applies them when they changed and validate; else logs why, once per fault. */
  check(): void {
    let next: Material;
    try {
      next = readMaterial(this.files);
      // Unchanged files were validated when they were taken: a poll only reads them.
      if (!same(next, this.material)) load(this.files, next);
    } catch (error) {
      const why = (error as Error).message;
      if (why !== this.rejected) this.log(`sr: tls: keeping the current certificate: ${why}`);
      this.rejected = why;
      return;
    }
    this.rejected = undefined;
    this.apply(next);
  }

  /**
   * Takes other files (a configuration reload). Throws, keeping the current
   * files and material, when they are not a usable pair or would turn client
   * certificates on or off, which the listeners fix when they start.
   */
  retarget(files: TlsConfig): void {
    if ((files.clientCa === undefined) !== (this.files.clientCa === undefined)) {
      throw new Error("tls.client_ca: adding or removing the client CA needs a restart");
    }
    const next = load(files);
    this.files = files;
    this.rejected = undefined;
    this.apply(next);
  }

  close(): void {
    clearInterval(this.timer);
    this.listeners.clear();
    this.grpcListeners.clear();
  }

  // grpc-js's CertificateProvider: it asks for the identity (and the CA) once a listener starts.
  addIdentityCertificateListener(listener: experimental.IdentityCertificateUpdateListener): void {
    this.addGrpcListener(listener, () => listener({ certificate: this.material.cert, privateKey: this.material.key }));
  }

  removeIdentityCertificateListener(listener: experimental.IdentityCertificateUpdateListener): void {
    this.removeGrpcListener(listener);
  }

  addCaCertificateListener(listener: experimental.CaCertificateUpdateListener): void {
    this.addGrpcListener(listener, () => listener(this.material.ca ? { caCertificate: this.material.ca } : null));
  }

  removeCaCertificateListener(listener: experimental.CaCertificateUpdateListener): void {
    this.removeGrpcListener(listener);
  }

  private apply(next: Material): void {
    if (same(next, this.material)) return;
    this.material = next;
    this.log(`sr: tls: certificate reloaded from ${this.files.cert} (valid until ${new X509Certificate(next.cert).validTo})`);
    for (const listener of this.listeners) listener();
  }

  private addGrpcListener(key: unknown, update: Listener): void {
    // grpc-js registers its watcher right after asking, so the first answer must come later.
    process.nextTick(update);
    this.grpcListeners.set(key, this.onChange(update));
  }

  private removeGrpcListener(key: unknown): void {
    this.grpcListeners.get(key)?.();
    this.grpcListeners.delete(key);
  }
}
