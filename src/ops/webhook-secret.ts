// The secret the forge and the webhook listener share: made by the first install (0600), else checked;
// removed by uninstall only when it is still the one install made.
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { mkdir, open, rm } from "node:fs/promises";
import path from "node:path";
import { writeAtomic } from "../adapters/files.js";
import { sha256 } from "../core/agent-units.js";
import { RfError } from "../errors.js";
import { checkSecretFile } from "../webhook/secret.js";

/**
 * The directories missing on the way to `dir`, made root's and 0700. One that exists is never
 * chmodded: `secret_file = /etc/x` must not make /etc 0700.
 */
async function makeMissingDirs(dir: string): Promise<void> {
  // mkdir -p applies the mode only to the directories it creates.
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

// A webhook secret is 64 hex digits; anything much larger is not one.
const MAX_SECRET_BYTES = 64 * 1024;

/**
 * The secret file's bytes, or null when it does not exist: opened without following a link and
 * without blocking on a FIFO, and only when it is a regular file of sane size.
 */
export async function readSecretFile(file: string): Promise<Buffer | null> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    if (code === "ELOOP") throw secretFileRefused(file, "is a symbolic link");
    throw e;
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw secretFileRefused(file, "is not a regular file");
    if (st.size > MAX_SECRET_BYTES) throw secretFileRefused(file, `is ${st.size} bytes, not a secret`);
    const buf = Buffer.alloc(st.size + 1);
    let n = 0;
    for (let r; (r = await handle.read(buf, n, buf.length - n, n)).bytesRead > 0;) {
      n += r.bytesRead;
      if (n === buf.length) throw secretFileRefused(file, "changed while rf-agent read it");
    }
    return buf.subarray(0, n);
  } finally {
    await handle.close();
  }
}

function secretFileRefused(file: string, why: string): RfError {
  return new RfError("CONFIG", `webhook secret file ${file} ([webhook] secret_file) ${why}`, {
    hint: `point [webhook] secret_file at a regular file of root's, e.g. (umask 077; openssl rand -hex 32 > ${file})`,
  });
}

/** The secret the forge and the listener share: made on first install (0600), else checked. */
export async function ensureSecret(file: string): Promise<{ generated: string | null }> {
  if ((await readSecretFile(file)) !== null) {
    await checkSecretFile(file);
    return { generated: null };
  }
  const secret = randomBytes(32).toString("hex");
  await makeMissingDirs(path.dirname(file));
  await writeAtomic(file, secret + "\n", 0o600);
  return { generated: secret + "\n" };
}

/**
 * Removes the secret install generated, unless it changed since: whatever is there now (a link, a
 * FIFO: not ours) is kept, and never followed. Returns whether a secret was kept.
 */
export async function removeGeneratedSecret(secret: { path: string; sha256: string }): Promise<boolean> {
  const now = await readSecretFile(secret.path).catch(() => "not ours");
  if (now !== null && sha256(now) === secret.sha256) {
    await rm(secret.path, { force: true });
    return false;
  }
  return now !== null;
}
