// Which certificate the site can serve right now, and whether certbot must be asked for one.
import { certbotInstalled } from "../adapters/certbot.js";
import { isActive, isEnabled } from "../adapters/systemd.js";
import { readCertificate, uncovered } from "../adapters/tls.js";
import type { Config } from "../config/types.js";
import type { Context } from "../context.js";
import { siteHttps, type SiteHttps } from "../core/render.js";
import { certDomains, certificatePaths } from "../core/tls.js";

export interface SiteCertificate {
  https: SiteHttps;
  /** certbot must run: no certificate yet, or one that misses a name of server_name. */
  issue: boolean;
  /** Names the current certificate lacks (all of them when there is none). */
  missing: string[];
}

export async function siteCertificate(config: Config): Promise<SiteCertificate> {
  const paths = certificatePaths(config);
  if (config.tls.mode !== "certbot" || !paths) {
    return { https: siteHttps(config, true), issue: false, missing: [] };
  }
  const info = await readCertificate(paths.cert);
  // A certificate that lacks a new name still serves the others while certbot expands it.
  const missing = info ? uncovered(info, certDomains(config)) : certDomains(config);
  return { https: siteHttps(config, info !== null), issue: missing.length > 0, missing };
}

/** certbot's renewal timer from Debian's package (twice a day, `certbot renew`). */
export const RENEWAL_TIMER = "certbot.timer";
const DAY_MS = 86_400_000;

export interface TlsReport {
  mode: "files" | "certbot";
  /** The chain nginx serves. */
  cert: string;
  /** When its first certificate expires (ISO); null when there is none to read. */
  notAfter: string | null;
  daysLeft: number | null;
  /** server_name names it does not cover. */
  missing: string[];
  /** With certbot: whether it is installed, and its renewal timer. */
  renewal: { certbot: boolean; timer: string; enabled: boolean; active: boolean } | null;
}

/** The certificate the site serves, for status and doctor; null with tls off. */
export async function tlsReport(ctx: Context): Promise<TlsReport | null> {
  const { config } = ctx;
  const paths = certificatePaths(config);
  if (config.tls.mode === "off" || !paths) return null;
  const info = await readCertificate(paths.cert);
  // Only real names can be checked: not _ (any), nor a ~regex.
  const names = certDomains(config).filter((n) => n !== "_" && !n.startsWith("~"));
  const quietly = (p: Promise<boolean>) => p.catch(() => false);
  // The three questions to the host at once: status waits for the slowest, not their sum.
  const renewal =
    config.tls.mode === "certbot"
      ? await Promise.all([
          certbotInstalled(ctx.run),
          quietly(isEnabled(ctx.run, RENEWAL_TIMER)),
          quietly(isActive(ctx.run, RENEWAL_TIMER)),
        ])
      : null;
  return {
    mode: config.tls.mode,
    cert: paths.cert,
    notAfter: info ? info.notAfter.toISOString() : null,
    daysLeft: info ? Math.floor((info.notAfter.getTime() - ctx.now().getTime()) / DAY_MS) : null,
    missing: info ? uncovered(info, names) : names,
    renewal: renewal
      ? { certbot: renewal[0], timer: RENEWAL_TIMER, enabled: renewal[1], active: renewal[2] }
      : null,
  };
}

/** One line for `rf-agent status`. */
export function formatTls(r: TlsReport): string {
  const cert =
    r.notAfter === null
      ? `no certificate at ${r.cert} yet`
      : `expires ${r.notAfter.slice(0, 10)} (${r.daysLeft} days)` +
        (r.missing.length ? `, lacks ${r.missing.join(", ")}` : "");
  const renewal = !r.renewal
    ? ""
    : r.renewal.certbot
      ? `; renewed by ${r.renewal.timer} (${r.renewal.enabled ? "enabled" : "NOT enabled"}, ${r.renewal.active ? "active" : "inactive"})`
      : "; certbot is NOT installed";
  return `https    ${r.mode}: ${cert}${renewal}`;
}

/** doctor's verdict on the certificate: readable, covering the names, not near expiry, renewed. */
export function tlsVerdict(r: TlsReport): { ok: boolean; detail: string; fix?: string } {
  const detail = formatTls(r).replace(/^https\s+/, "");
  if (r.renewal && !r.renewal.certbot) return { ok: false, detail, fix: "apt-get install certbot" };
  if (r.renewal && !(r.renewal.enabled && r.renewal.active)) {
    return { ok: false, detail, fix: `systemctl enable --now ${r.renewal.timer} (apt-get install certbot)` };
  }
  if (r.notAfter === null || r.daysLeft === null) {
    // Before the first certificate, certbot's host is ready: the next deploy asks for it.
    return r.mode === "certbot"
      ? {
          ok: true,
          detail: `${detail}; the next deploy asks certbot for ${r.missing.join(", ")} (their DNS must point here, port 80 open)`,
        }
      : { ok: false, detail, fix: `put the PEM certificate chain at ${r.cert} ([tls] cert)` };
  }
  // certbot renews 30 days before expiry, twice a day: fewer days left means renewals fail.
  const minDays = r.mode === "certbot" ? 28 : 14;
  if (r.daysLeft < minDays) {
    return {
      ok: false,
      detail,
      fix:
        r.mode === "certbot"
          ? "see why renewals fail: `journalctl -u certbot` and `certbot renew --dry-run`"
          : `replace ${r.cert} with a renewed certificate, then systemctl reload nginx`,
    };
  }
  if (r.missing.length) {
    return {
      ok: false,
      detail,
      fix:
        r.mode === "certbot"
          ? "run `rf-agent deploy`: certbot adds the missing names"
          : "use a certificate that covers every [nginx] server_name",
    };
  }
  return { ok: true, detail };
}
