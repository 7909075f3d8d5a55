/**
 * Certificates made at run time with `openssl`, in a temporary directory: a
 * CA, server certificates for 127.0.0.1 and localhost, and client
 * certificates with the subject CN and SANs a test asks for.
 */
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

/** PEM files on disk, and their bytes. */
export interface KeyPair {
  cert: string;
  key: string;
  certPem: Buffer;
  keyPem: Buffer;
  /** As a TLS peer shows it (`getPeerCertificate().serialNumber`). */
  serial: string;
}

export interface LeafOptions {
  cn: string;
  /** e.g. `DNS:worker.billing`, `URI:spiffe://cluster/ns/billing/sa/worker`. */
  sans?: string[];
}

const openssl = (cwd: string, ...args: string[]) => execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });

/** One CA in a directory of its own; `remove()` deletes it all. */
export class TestPki {
  readonly dir = mkdtempSync(path.join(tmpdir(), "sr-pki-"));
  readonly ca: string;
  readonly caPem: Buffer;
  private serial = 0;

  constructor(name = "sr test CA") {
    openssl(this.dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", `/CN=${name}`);
    this.ca = path.join(this.dir, "ca.crt");
    this.caPem = readFileSync(this.ca);
  }

  /** A server certificate for 127.0.0.1, ::1 and localhost. */
  server(cn = "sr-server"): KeyPair {
    return this.leaf({ cn, sans: ["DNS:localhost", "IP:127.0.0.1", "IP:::1"] }, "serverAuth");
  }

  client(options: LeafOptions): KeyPair {
    return this.leaf(options, "clientAuth");
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private leaf(options: LeafOptions, usage: "serverAuth" | "clientAuth"): KeyPair {
    const base = `leaf-${++this.serial}`;
    const ext = [`extendedKeyUsage=${usage}`, ...(options.sans?.length ? [`subjectAltName=${options.sans.join(",")}`] : [])];
    writeFileSync(path.join(this.dir, `${base}.ext`), `${ext.join("\n")}\n`);
    openssl(this.dir, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", `${base}.key`, "-out", `${base}.csr`, "-subj", `/CN=${options.cn}`);
    openssl(this.dir, "x509", "-req", "-in", `${base}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-set_serial", String(Date.now() * 100 + this.serial), "-days", "1", "-extfile", `${base}.ext`, "-out", `${base}.crt`);
    const cert = path.join(this.dir, `${base}.crt`);
    const key = path.join(this.dir, `${base}.key`);
    const certPem = readFileSync(cert);
    return { cert, key, certPem, keyPem: readFileSync(key), serial: new X509Certificate(certPem).serialNumber };
  }
}
