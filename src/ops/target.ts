// Which commit a deploy targets, asked of the remote without touching a checkout, and what the
// deploy would write differently: for the fast no-op, --ref SHA and --dry-run.
import { readIfExists } from "../adapters/files.js";
import { fileDiff } from "../adapters/diff.js";
import { hasCheckout, isSha, lsRemote } from "../adapters/git.js";
import type { Color } from "../config/types.js";
import type { Context } from "../context.js";
import { renderLiveInclude, renderSite, renderUnits } from "../core/render.js";
import { siteCertificate } from "./certificate.js";
import { gitUser } from "./host.js";
import { branchMissing } from "./release.js";

/** Cheap: asks the remote, without touching any checkout. null when it cannot tell. */
export async function remoteSha(ctx: Context, ref: string | undefined): Promise<string | null> {
  if (ref && isSha(ref)) return ref;
  const name = ref ?? ctx.config.app.branch;
  const sha = await lsRemote(ctx.config.app.repo, name, gitUser(ctx));
  if (!sha && !ref) throw branchMissing(ctx.config.app);
  return sha;
}

export async function idleHasCheckout(ctx: Context, idle: Color): Promise<boolean> {
  return hasCheckout(ctx.layout.checkout(idle));
}

/** `diff -u` of every file a deploy of `sha` to `idle` would change, and which of them are units. */
export async function renderedDiffs(
  ctx: Context,
  idle: Color,
  sha: string,
): Promise<{ unitPaths: string[]; diffs: string[] }> {
  const group = ctx.user?.group ?? ctx.config.app.user;
  const units = renderUnits(ctx.config, ctx.layout, idle, group);
  const files = [
    ...units,
    // certbot's site is plain HTTP with the ACME path until its certificate exists
    renderSite(ctx.config, ctx.layout, (await siteCertificate(ctx.config)).https),
    renderLiveInclude(ctx.config, ctx.layout, idle, sha),
  ];
  const diffs: string[] = [];
  const changed = new Set<string>();
  for (const f of files) {
    const before = await readIfExists(f.path);
    if (before === f.content) continue;
    changed.add(f.path);
    diffs.push(await fileDiff(ctx.run, f.path, before, f.content));
  }
  return { unitPaths: units.map((u) => u.path).filter((p) => changed.has(p)), diffs };
}
