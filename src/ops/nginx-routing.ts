// Moving nginx to a color: small includes swapped atomically, tested, reloaded, and confirmed.
import { lstat, readlink, rm, stat, symlink } from "node:fs/promises";
import path from "node:path";
import { readIfExists, writeAtomic } from "../adapters/files.js";
import { headSha } from "../adapters/git.js";
import { gitUserIfAny } from "./host.js";
import { certonly } from "../adapters/certbot.js";
import {
  askLive,
  confirmLive,
  hasHttp2Directive,
  nginxVersion,
  reload,
  testConfig,
} from "../adapters/nginx.js";
import type { Color } from "../config/types.js";
import { nginxHost, type Context } from "../context.js";
import { RfError } from "../errors.js";
import { other } from "../core/layout.js";
import { siteCertificate } from "./certificate.js";
import { readLiveInclude } from "../adapters/live-include.js";
import {
  previewEnabled,
  renderLiveInclude,
  renderPreviewInclude,
  renderSite,
  type LiveRoute,
  type NginxFeatures,
  type RenderedFile,
  type SiteHttps,
} from "../core/render.js";

export const clockOf = (ctx: Context) => ({ now: () => ctx.now().getTime(), sleep: ctx.sleep });

async function linkTarget(p: string): Promise<string | null> {
  try {
    await lstat(p);
    return await readlink(p);
  } catch {
    return null;
  }
}

async function restoreLink(p: string, target: string | null): Promise<void> {
  await rm(p, { force: true });
  if (target !== null) await symlink(target, p);
}

/** `nginx -t` of the configuration as it is now: see checkNginxEarly. */
export type NginxCheck = Promise<{ ok: boolean; output: string }>;

/**
 * `nginx -t` asked while other work runs (a rollback's prepare, a deploy's install and health
 * gate), so that the switch need not ask again on its own critical path (~50 ms, more on a busy
 * host): a switch that changes nothing but the live include (a few lines rf-agent renders) is
 * vouched for by it, and proven by nginx answering with the new color. Never rejects.
 */
export function checkNginxEarly(ctx: Context): NginxCheck {
  return testConfig(ctx.run).catch((e: unknown) => ({ ok: false, output: String(e) }));
}

function refused(output: string): RfError {
  return new RfError("NGINX", "`nginx -t` rejects the configuration, so nginx was not switched", {
    hint: "fix the file nginx names below (it may not be ours), check with `nginx -t`, then run the command again",
    details: output,
  });
}

interface Applied {
  /** Puts every file and link back as it was. */
  restore(): Promise<void>;
  /** The switch went without its own `nginx -t`, on the word of an earlier one. */
  vouched: boolean;
}

/**
 * Writes the files, then `nginx -t`; on failure every file and link is put back as it was and
 * nothing is reloaded. `extra` runs after the files are written (links), `undo` reverses it, and
 * `changes` says whether it changes anything. With `early` (checkNginxEarly) passed and nothing but
 * `liveOnly` changing, the test is skipped: the caller confirms, and asks nginx -t on a failure.
 */
export async function applyNginx(
  ctx: Context,
  files: RenderedFile[],
  extra?: { apply: () => Promise<void>; undo: () => Promise<void>; changes: boolean },
  early?: { check: NginxCheck; liveOnly: string },
): Promise<Applied> {
  const before = await Promise.all(files.map((f) => readIfExists(f.path)));
  const changed = files.filter((f, i) => before[i] !== f.content);
  for (const f of changed) await writeAtomic(f.path, f.content, f.mode);
  await extra?.apply();
  const restore = async () => {
    for (const [i, f] of files.entries()) {
      const old = before[i] ?? null;
      if (old === null) await rm(f.path, { force: true });
      else await writeAtomic(f.path, old, f.mode);
    }
    await extra?.undo();
  };
  const vouched =
    early !== undefined &&
    !extra?.changes &&
    changed.every((f) => f.path === early.liveOnly) &&
    (await early.check).ok;
  if (!vouched) {
    const test = await testConfig(ctx.run);
    if (!test.ok) {
      await restore();
      throw refused(test.output);
    }
  }
  await reload(ctx.run);
  return { restore, vouched };
}

/** nginx is asked its version only for an HTTPS site, the one part whose syntax depends on it. */
async function nginxFeatures(ctx: Context, https: SiteHttps): Promise<NginxFeatures> {
  return { http2Directive: https === "on" && hasHttp2Directive(await nginxVersion(ctx.run)) };
}

/**
 * The site as a switch renders it now, and its links as they are: the site's own (enabled when it
 * points at the site) and Debian's default one, to be dropped when it would shadow ours.
 */
async function siteAsNeeded(ctx: Context) {
  const { config, layout } = ctx;
  const certificate = await siteCertificate(config);
  const site = renderSite(config, layout, certificate.https, await nginxFeatures(ctx, certificate.https));
  const link = await linkTarget(layout.siteLinkPath);
  const defaultLink = await linkTarget(layout.defaultSiteLinkPath);
  // Debian's default site also claims default_server on port 80 and would shadow ours.
  const dropDefault = defaultLink !== null && config.nginx.serverName === "_";
  return { certificate, site, link, defaultLink, dropDefault };
}

/**
 * Site + live include (+ preview include showing the other color) for `to`, reloaded and confirmed.
 * `fallback`: while the color nginx leaves still runs (watch, drain, standby), a request that cannot
 * reach `to` goes to it. Left out, it stays as the include has it when `to` already serves (a
 * certificate or a repair applied again), and is off for a new color.
 */
export async function switchTo(
  ctx: Context,
  to: Color,
  sha: string,
  fallback?: boolean,
  early?: NginxCheck,
): Promise<void> {
  const { layout, config, log } = ctx;
  const current = fallback === undefined ? await liveInclude(ctx) : null;
  const keep = fallback ?? (current?.color === to && current.fallback);
  const { certificate, site, link, defaultLink, dropDefault } = await siteAsNeeded(ctx);
  const files = [site, renderLiveInclude(config, layout, to, sha, keep)];
  if (previewEnabled(config)) {
    const idleSha = await headSha(layout.checkout(other(to)), gitUserIfAny(ctx));
    files.push(renderPreviewInclude(config, layout, other(to), idleSha));
  }
  if (!(await stat(path.dirname(layout.siteLinkPath)).catch(() => null))) {
    throw new RfError("NGINX", `nginx has no ${path.dirname(layout.siteLinkPath)} directory`, {
      hint: "rf-agent expects Debian's nginx layout (sites-available/sites-enabled): apt-get install nginx",
    });
  }
  const applied = await applyNginx(
    ctx,
    files,
    {
      apply: async () => {
        if (link !== site.path) await restoreLink(layout.siteLinkPath, site.path);
        if (dropDefault) await rm(layout.defaultSiteLinkPath, { force: true });
      },
      undo: async () => {
        await restoreLink(layout.siteLinkPath, link);
        if (dropDefault) await restoreLink(layout.defaultSiteLinkPath, defaultLink);
      },
      changes: link !== site.path || dropDefault,
    },
    early && { check: early, liveOnly: layout.liveIncludePath },
  );
  if (dropDefault) {
    log.warn(
      { link: layout.defaultSiteLinkPath },
      "disabled nginx's default site: it would shadow ours on the same port",
    );
  }
  try {
    await confirmLive(ctx.get, config.nginx.listen, nginxHost(config), { color: to, sha }, clockOf(ctx));
  } catch (e) {
    if (!applied.vouched) throw e;
    // The reload went without its own test: if nginx refused what changed since, say so as the test
    // would have, with the files as they were (nginx, refusing, kept serving them).
    const test = await testConfig(ctx.run);
    if (test.ok) throw e;
    await applied.restore();
    await reload(ctx.run);
    throw refused(test.output);
  }
  if (certificate.issue) await obtainCertificate(ctx, to, sha, certificate.missing);
}

/**
 * certbot, once the site (plain HTTP with the ACME path, or HTTPS with a certificate lacking a name)
 * serves `to`; then the site again with the new certificate. A failure leaves the site as it is
 * and is only a warning: the release is live either way, and the next deploy asks again.
 */
async function obtainCertificate(ctx: Context, to: Color, sha: string, missing: string[]): Promise<void> {
  const { config, layout, log } = ctx;
  const got = await certonly(ctx.run, config);
  if (!got.ok) {
    await writeAtomic(certbotFailedAt(ctx), `${ctx.now().toISOString()}\n`, 0o600).catch(() => undefined);
    log.warn(
      { tls: "not-issued", names: missing, acmeServer: config.tls.acmeServer, details: got.output },
      `certbot got no certificate for ${missing.join(", ")}; the site keeps what it served (the next deploy tries again): is the name's DNS pointing at this host, port 80 open?`,
    );
    return;
  }
  await rm(certbotFailedAt(ctx), { force: true });
  log.info({ tls: "issued", names: missing }, `certificate issued for ${missing.join(", ")}`);
  await applyNginx(ctx, [renderSite(config, layout, "on", await nginxFeatures(ctx, "on"))]);
  await confirmLive(ctx.get, config.nginx.listen, nginxHost(config), { color: to, sha }, clockOf(ctx));
}

/**
 * With certbot and a certificate missing (or lacking a name): the live site applied again, which
 * asks certbot. For a deploy with nothing new, which would not switch; otherwise nothing is done.
 */
export async function ensureCertificate(ctx: Context, live: { color: Color; sha: string }): Promise<void> {
  if (!(await siteCertificate(ctx.config)).issue) return;
  const failedAt = Date.parse((await readIfExists(certbotFailedAt(ctx)).catch(() => null))?.trim() ?? "");
  if (ctx.now().getTime() - failedAt < CERTBOT_RETRY_MS) {
    ctx.log.debug(
      { tls: "retry-later", failedAt: new Date(failedAt).toISOString() },
      "certbot failed within the hour",
    );
    return;
  }
  await switchTo(ctx, live.color, live.sha);
}

// Let's Encrypt allows 5 failed validations per name an hour: with nothing new to deploy (a timer's
// run every few minutes) certbot is asked again at most hourly. A deploy that switches always asks.
const CERTBOT_RETRY_MS = 3_600_000;
const certbotFailedAt = (ctx: Context) => path.join(ctx.layout.stateDir, "certbot-failed-at");

/** Where nginx routes now by its include (an armed switch's flag counted). */
async function liveInclude(ctx: Context): Promise<LiveRoute | null> {
  return (await readLiveInclude(ctx.layout))?.route ?? null;
}

/**
 * Whether a switch would change nothing but the live include: no preview to show the other color,
 * no certificate to ask for, the site as rendered already in place and enabled, no default site to
 * drop. Only then can a switch be armed ahead (ops/armed-switch.ts).
 */
export async function onlyLiveChanges(ctx: Context): Promise<boolean> {
  if (previewEnabled(ctx.config)) return false;
  const { certificate, site, link, dropDefault } = await siteAsNeeded(ctx);
  if (certificate.issue || dropDefault || link !== site.path) return false;
  return (await readIfExists(site.path)) === site.content;
}

/** nginx falls back to the color it does not serve (the last deploy's old one), as its include says. */
export async function fallsBack(ctx: Context): Promise<boolean> {
  return (await liveInclude(ctx))?.fallback ?? false;
}

/**
 * Before anything starts in the idle color: nginx must no longer fall back to it, as what starts
 * there is not yet proven. Only the include changes (tested, reloaded); the live color stays.
 */
export async function dropFallback(ctx: Context): Promise<boolean> {
  const live = await liveInclude(ctx);
  if (!live?.fallback) return false;
  await applyNginx(ctx, [renderLiveInclude(ctx.config, ctx.layout, live.color, live.sha, false)]);
  return true;
}

/** Points the preview server at `color` (the idle one, after `deploy --no-switch`). */
export async function showInPreview(ctx: Context, color: Color, sha: string): Promise<void> {
  if (!previewEnabled(ctx.config)) return;
  await applyNginx(ctx, [renderPreviewInclude(ctx.config, ctx.layout, color, sha)]);
}

/** The color and commit nginx serves right now, asked of nginx itself. */
export async function servedByNginx(ctx: Context): Promise<{ color: Color; sha: string } | null> {
  const a = await askLive(ctx.get, ctx.config.nginx.listen, nginxHost(ctx.config)).catch(() => null);
  return a && (a.color === "blue" || a.color === "green") ? { color: a.color, sha: a.sha } : null;
}

/** Where the preview server can be reached, for status; null when preview is off. */
export function previewUrl(ctx: Context): string | null {
  const { previewListen, previewServerName, listen } = ctx.config.nginx;
  if (!previewListen && !previewServerName) return null;
  const hostPort = previewListen || String(listen);
  const host = previewServerName
    ? previewServerName.split(/\s+/)[0]
    : hostPort.includes(":")
      ? hostPort.split(":")[0]
      : "127.0.0.1";
  const port = hostPort.includes(":") ? hostPort.split(":")[1] : hostPort;
  return `http://${host}${port === "80" ? "" : `:${port}`}/`;
}
