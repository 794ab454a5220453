// Reading a certificate nginx serves: when it expires and which names it covers (node:crypto).
import { stat } from "node:fs/promises";
import { readIfExists } from "./files.js";

export interface CertificateInfo {
  notAfter: Date;
  /** The names it is valid for (subjectAltName DNS entries). */
  names: string[];
  issuer: string;
}

const PEM = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

/** The first certificate of a PEM file (the leaf of a full chain); null when absent or not one. */
export async function readCertificate(file: string): Promise<CertificateInfo | null> {
  // Links are followed (certbot's live/ points into archive/), but only a regular file is read:
  // a FIFO would block the reader.
  const st = await stat(file).catch(() => null);
  if (!st?.isFile() || st.size > 1024 * 1024) return null;
  const text = await readIfExists(file).catch(() => null);
  const pem = text ? PEM.exec(text)?.[0] : undefined;
  if (!pem) return null;
  try {
    // Loaded here: most hosts and commands never read a certificate, and node:crypto costs ~6 ms to load.
    const cert = new (process.getBuiltinModule("node:crypto").X509Certificate)(pem);
    const names = (cert.subjectAltName ?? "")
      .split(", ")
      .filter((n) => n.startsWith("DNS:"))
      .map((n) => n.slice(4));
    return { notAfter: new Date(cert.validTo), names, issuer: cert.issuer.replace(/\n/g, ", ") };
  } catch {
    return null;
  }
}

/** The names in `wanted` the certificate does not cover (exact or one-label wildcard). */
export function uncovered(info: CertificateInfo, wanted: string[]): string[] {
  const covers = (name: string) =>
    info.names.some((n) => {
      const a = n.toLowerCase();
      const b = name.toLowerCase();
      return a === b || (a.startsWith("*.") && b.slice(b.indexOf(".")) === a.slice(1));
    });
  return wanted.filter((n) => !covers(n));
}
