// certbot: `certonly --webroot` for the site's names; certbot's own timer renews (Debian's package).
import type { Config } from "../config/types.js";
import { ACME_WEBROOT, certbotArgs } from "../core/tls.js";
import type { Runner } from "../exec/runner.js";
import { tail } from "../exec/runner.js";

/**
 * Asks the ACME server for the site's certificate over HTTP-01; nginx must already serve the
 * webroot on port 80. Returns certbot's complaint on failure instead of throwing.
 */
export async function certonly(
  run: Runner,
  config: Config,
): Promise<{ ok: true } | { ok: false; output: string }> {
  try {
    // The webroot: root's, readable by nginx. Under /var/lib only root can create it, so no one
    // else can have put a link there first.
    await run("install", ["-d", "-m", "0755", "-o", "root", "-g", "root", ACME_WEBROOT]);
    const r = await run("certbot", certbotArgs(config), { reject: false, timeoutMs: 300_000 });
    if (r.exitCode === 0) return { ok: true };
    return { ok: false, output: tail(`${r.stderr}\n${r.stdout}`.trim(), 15) };
  } catch (e) {
    // certbot not installed, most likely: the runner's error says which.
    return { ok: false, output: `${e instanceof Error ? e.message : String(e)} (apt-get install certbot)` };
  }
}

/** Whether certbot is installed (`certbot --version` runs). */
export async function certbotInstalled(run: Runner): Promise<boolean> {
  const r = await run("certbot", ["--version"], { reject: false }).catch(() => null);
  return r?.exitCode === 0;
}
