// Is a delivery really from the forge? GitHub signs the raw body with HMAC-SHA256; GitLab sends the
// secret itself. Both are compared in constant time.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/** Constant-time equality; the length check first, because timingSafeEqual throws on a mismatch. */
export function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export function githubSignature(secret: Buffer, body: Buffer): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/** The only shape X-Hub-Signature-256 has; anything else is refused before the body is read. */
export const GITHUB_SIGNATURE = /^sha256=[0-9a-f]{64}$/;

/** The HMAC of a body fed chunk by chunk as it arrives, compared with the header at the end. */
export interface BodyVerifier {
  update(chunk: Buffer): void;
  /** Once, after the last chunk. */
  matches(): boolean;
}

export function githubVerifier(secret: Buffer, header: string): BodyVerifier {
  const hmac = createHmac("sha256", secret);
  return {
    update: (chunk) => void hmac.update(chunk),
    matches: () =>
      safeEqual(Buffer.from(header.trim(), "utf8"), Buffer.from(`sha256=${hmac.digest("hex")}`, "utf8")),
  };
}

/** X-Hub-Signature-256: "sha256=" + hex HMAC of the exact bytes received. */
export function verifyGithub(secret: Buffer, body: Buffer, header: string | undefined): boolean {
  if (header === undefined || !GITHUB_SIGNATURE.test(header.trim())) return false;
  const v = githubVerifier(secret, header);
  v.update(body);
  return v.matches();
}

/** X-Gitlab-Token is the secret itself; digests are compared so not even its length leaks. */
export function verifyGitlab(secret: Buffer, header: string | undefined): boolean {
  if (header === undefined) return false;
  const digest = (b: Buffer) => createHash("sha256").update(b).digest();
  return safeEqual(digest(Buffer.from(header, "utf8")), digest(secret));
}
