// Moving nginx to a color: one small include swapped atomically, tested, reloaded, and confirmed.
import { lstat, readlink, rm, symlink } from "node:fs/promises";
import { readIfExists, writeAtomic } from "../adapters/files.js";
import { askLive, confirmLive, reload, testConfig } from "../adapters/nginx.js";
import type { Color } from "../config/types.js";
import { nginxHost, type Context } from "../context.js";
import { RfError } from "../errors.js";
import { renderLiveInclude, renderSite } from "../core/render.js";

async function linkTarget(p: string): Promise<string | null> {
  try {
    await lstat(p);
    return await readlink(p);
  } catch {
    return null;
  }
}

async function restoreFile(p: string, content: string | null, mode = 0o644): Promise<void> {
  if (content === null) await rm(p, { force: true });
  else await writeAtomic(p, content, mode);
}

async function restoreLink(p: string, target: string | null): Promise<void> {
  await rm(p, { force: true });
  if (target !== null) await symlink(target, p);
}

/** Writes site + include for `to`; on `nginx -t` failure puts every file back as it was and reloads nothing. */
export async function switchTo(ctx: Context, to: Color, sha: string): Promise<void> {
  const { layout, config, log } = ctx;
  const site = renderSite(config, layout);
  const include = renderLiveInclude(config, layout, to, sha);
  const before = {
    site: await readIfExists(layout.sitePath),
    include: await readIfExists(layout.liveIncludePath),
    link: await linkTarget(layout.siteLinkPath),
    defaultLink: await linkTarget(layout.defaultSiteLinkPath),
  };
  if (before.site !== site.content) await writeAtomic(site.path, site.content, site.mode);
  if (before.link !== site.path) await restoreLink(layout.siteLinkPath, site.path);
  // Debian's default site also claims default_server on port 80 and would shadow ours.
  if (before.defaultLink !== null && config.nginx.serverName === "_") {
    await rm(layout.defaultSiteLinkPath, { force: true });
    log.warn(
      { link: layout.defaultSiteLinkPath },
      "disabled nginx's default site: it would shadow ours on the same port",
    );
  }
  await writeAtomic(include.path, include.content, include.mode);
  const test = await testConfig(ctx.run);
  if (!test.ok) {
    await restoreFile(layout.liveIncludePath, before.include);
    await restoreFile(layout.sitePath, before.site);
    await restoreLink(layout.siteLinkPath, before.link);
    if (before.defaultLink !== null) await restoreLink(layout.defaultSiteLinkPath, before.defaultLink);
    throw new RfError("NGINX", "`nginx -t` rejects the configuration, so nginx was not switched", {
      hint: "fix the file nginx names below (it may not be ours), check with `nginx -t`, then run the command again",
      details: test.output,
    });
  }
  await reload(ctx.run);
  await confirmLive(ctx.get, config.nginx.listen, nginxHost(config), { color: to, sha });
}

/** The color and commit nginx serves right now, asked of nginx itself. */
export async function servedByNginx(ctx: Context): Promise<{ color: Color; sha: string } | null> {
  const a = await askLive(ctx.get, ctx.config.nginx.listen, nginxHost(ctx.config)).catch(() => null);
  return a && (a.color === "blue" || a.color === "green") ? { color: a.color, sha: a.sha } : null;
}
