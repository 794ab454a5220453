// First-deploy setup that is safe to repeat: the app user, its root, the state dir.
import { chown, mkdir, stat } from "node:fs/promises";
import { ensureDir } from "../adapters/files.js";
import { createSystemUser, lookupUser, type UnixUser } from "../adapters/users.js";
import type { Context } from "../context.js";

/** The app user if it exists, without creating it (status, reconcile). */
export async function findAppUser(ctx: Context): Promise<UnixUser | null> {
  const found = await lookupUser(ctx.run, ctx.config.app.user);
  ctx.user = found ? { ...found, home: ctx.config.app.root } : null;
  return ctx.user;
}

export async function ensureAppUser(ctx: Context): Promise<UnixUser> {
  if (ctx.user) return ctx.user;
  const { user, root } = ctx.config.app;
  let found = await lookupUser(ctx.run, user);
  if (!found) {
    ctx.log.info({ user }, `creating system user ${user} (home ${root})`);
    await createSystemUser(ctx.run, user, root);
    found = await lookupUser(ctx.run, user);
    if (!found) throw new Error(`user ${user} still missing after useradd`);
  }
  // git and pip look for their config and caches under HOME.
  ctx.user = { ...found, home: root };
  return ctx.user;
}

export async function ensureRoot(ctx: Context, user: UnixUser): Promise<void> {
  const root = ctx.config.app.root;
  await mkdir(root, { recursive: true, mode: 0o750 });
  const st = await stat(root);
  if (st.uid !== user.uid || st.gid !== user.gid) {
    ctx.log.info({ root }, `giving ${root} to ${user.name}`);
    await chown(root, user.uid, user.gid);
  }
  await mkdir(`${root}/venvs`, { recursive: true, mode: 0o750 });
  await chown(`${root}/venvs`, user.uid, user.gid);
  await ensureDir(ctx.layout.stateDir, 0o700);
}
