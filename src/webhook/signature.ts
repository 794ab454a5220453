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

/** X-Hub-Signature-256: "sha256=" + hex HMAC of the exact bytes received. */
export function verifyGithub(secret: Buffer, body: Buffer, header: string | undefined): boolean {
  if (header === undefined) return false;
  return safeEqual(Buffer.from(header.trim(), "utf8"), Buffer.from(githubSignature(secret, body), "utf8"));
}

/** X-Gitlab-Token is the secret itself; digests are compared so not even its length leaks. */
export function verifyGitlab(secret: Buffer, header: string | undefined): boolean {
  if (header === undefined) return false;
  const digest = (b: Buffer) => createHash("sha256").update(b).digest();
  return safeEqual(digest(Buffer.from(header, "utf8")), digest(secret));
}
