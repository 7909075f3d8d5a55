/**
 * What a caller presents, as both listeners read it: the bearer token of an
 * `authorization` header, and the names of a verified client certificate.
 */
import type { PeerCertificate } from "node:tls";
import type { CertificateNames } from "../domain/access.js";

/** The token of `Bearer <token>` (the scheme in any case, RFC 6750); any other value counts as no token. */
export function bearerToken(header: unknown): string | undefined {
  return typeof header === "string" ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;
}

/** `DNS:a, URI:"b,c", IP Address:1.2.3.4` as Node prints a certificate's SANs (values with a comma quoted). */
const SAN = /(?:^|, )([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)/g;

/** The names the access policy matches: subject CNs and DNS and URI SANs. */
export function certificateNames(peer: PeerCertificate): CertificateNames {
  const cn = peer.subject?.CN as string | string[] | undefined;
  const sans: string[] = [];
  for (const [, type, value] of (peer.subjectaltname ?? "").matchAll(SAN)) {
    if (type !== "DNS" && type !== "URI") continue;
    sans.push(value?.startsWith('"') ? (JSON.parse(value) as string) : (value as string));
  }
  return { subjectCns: cn === undefined ? [] : [cn].flat(), sans };
}
