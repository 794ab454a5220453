// certbot: `certonly --webroot` for the site's names; certbot's own timer renews (Debian's package).
import { lstat, mkdir, chmod } from "node:fs/promises";
import type { Config } from "../config/types.js";
import { ACME_WEBROOT, certbotArgs } from "../core/tls.js";
import type { Runner } from "../exec/runner.js";
import { tail } from "../exec/runner.js";

/** The webroot nginx serves the challenges from: root's own directory, readable by nginx. */
export async function ensureWebroot(): Promise<void> {
  await mkdir(ACME_WEBROOT, { recursive: true, mode: 0o755 });
  // Under /var/lib only root can make it; a symlink there is still refused rather than followed.
  const st = await lstat(ACME_WEBROOT);
  if (!st.isDirectory() || st.uid !== 0) throw new Error(`${ACME_WEBROOT} is not a directory owned by root`);
  await chmod(ACME_WEBROOT, 0o755);
}

/**
 * Asks the ACME server for the site's certificate over HTTP-01; nginx must already serve the
 * webroot on port 80. Returns certbot's complaint on failure instead of throwing.
 */
export async function certonly(
  run: Runner,
  config: Config,
): Promise<{ ok: true } | { ok: false; output: string }> {
  await ensureWebroot();
  try {
    const r = await run("certbot", certbotArgs(config), { reject: false, timeoutMs: 300_000 });
    if (r.exitCode === 0) return { ok: true };
    return { ok: false, output: tail(`${r.stderr}\n${r.stdout}`.trim(), 15) };
  } catch (e) {
    // Not installed, most likely: the runner's error says which.
    return { ok: false, output: `${e instanceof Error ? e.message : String(e)} (apt-get install certbot)` };
  }
}
