// First-deploy setup that is safe to repeat: the app user, and a tree with a hard boundary between
// root and that user. ROOT and ROOT/venvs are root's; only the checkouts, the venvs, pip's cache and
// the data directory belong to the app user, so nothing it can change sits on a path root walks.
import path from "node:path";
import { readdir, readFile } from "node:fs/promises";
import {
  assertRootOnlyDir,
  ensureOwnedDir,
  ensurePrivateDir,
  lstatOrNull,
  writeIfChanged,
} from "../adapters/files.js";
import type { GitUser } from "../adapters/git.js";
import { createSystemUser, lookupUser, type UnixUser } from "../adapters/users.js";
import { COLORS } from "../config/types.js";
import type { Context } from "../context.js";
import { RfError } from "../errors.js";

/** The app user if it exists, without creating it (status, reconcile). */
export async function findAppUser(ctx: Context): Promise<UnixUser | null> {
  const found = await lookupUser(ctx.run, ctx.config.app.user);
  return found ? { ...found, home: ctx.config.app.root } : null;
}

/** The app user, created if missing; a command goes on with `{ ...ctx, user }`. */
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
  // git and pip look for their config (~/.ssh) and caches (~/.cache) under HOME.
  return { ...found, home: root };
}

/** git as the app user; before that user exists (a dry run on a fresh host), as nobody. */
export function gitUser(ctx: Context, user: UnixUser | null = ctx.user): GitUser {
  const as = user ?? { uid: 65534, gid: 65534, home: "/" };
  return { run: ctx.run, as, app: ctx.config.app.name };
}

/** git as the app user, or null when it does not exist (nothing of ours can be checked out then). */
export function gitUserIfAny(ctx: Context): GitUser | null {
  return ctx.user ? gitUser(ctx, ctx.user) : null;
}

// rf-agent's record that it set up ROOT: an existing, non-empty ROOT without it is someone else's.
function rootMarker(ctx: Context): string {
  return path.join(ctx.layout.stateDir, "root");
}

async function ownsRoot(ctx: Context): Promise<boolean> {
  const marker = await readFile(rootMarker(ctx), "utf8").catch(() => null);
  if (marker !== null) return marker.trim() === ctx.config.app.root;
  // Hosts set up before the marker existed: a state file means rf-agent has deployed here.
  return (await lstatOrNull(ctx.layout.statePath)) !== null;
}

async function isEmptyDir(dir: string): Promise<boolean> {
  return (await readdir(dir)).length === 0;
}

/** Every directory above `dir` must be root's alone, or whoever can write one could swap ROOT itself. */
async function assertTrustedAncestors(dir: string): Promise<void> {
  for (let d = path.dirname(dir); ; d = path.dirname(d)) {
    const st = await lstatOrNull(d);
    // The sticky bit (/tmp) still lets others create a ROOT of their own: not good enough either.
    if (!st || !st.isDirectory() || st.uid !== 0 || (st.mode & 0o022) !== 0) {
      throw new RfError(
        "CONFIG",
        `[app] root ${dir} lies below ${d}, which users other than root can change`,
        {
          hint: `choose an [app] root whose parent directories are owned by root and not group- or world-writable (e.g. /srv/NAME), or fix ${d}: chown root:root ${d} && chmod go-w ${d}`,
          exitCode: 2,
        },
      );
    }
    if (d === "/") return;
  }
}

/**
 * ROOT (0755, root's), ROOT/venvs (root's), and the app user's own directories in them. Hosts set
 * up by an earlier rf-agent, where ROOT belonged to the app user, are moved over on the next deploy.
 */
export async function ensureRoot(ctx: Context, user: UnixUser): Promise<void> {
  const root = ctx.config.app.root;
  await ensurePrivateDir(ctx.layout.stateDir);
  await assertTrustedAncestors(root);
  const st = await lstatOrNull(root);
  if (st && !st.isDirectory()) {
    throw new RfError("CONFIG", `[app] root ${root} exists and is not a directory`, {
      hint: `move ${root} away, or choose another [app] root`,
      exitCode: 2,
    });
  }
  if (st && !(await ownsRoot(ctx)) && !(await isEmptyDir(root))) {
    throw new RfError(
      "CONFIG",
      `[app] root ${root} already exists and holds files rf-agent did not put there`,
      {
        hint: `rf-agent makes ROOT root's own and deletes what it finds in the checkouts: choose an [app] root that does not exist yet (e.g. /srv/${ctx.config.app.name}), or move ${root} away`,
        exitCode: 2,
      },
    );
  }
  // The parent is root's alone (checked above), so ensureOwnedDir's own parent check holds too.
  const rootOwner = { uid: 0, gid: 0 };
  if (!st || st.uid !== 0 || st.gid !== 0 || (st.mode & 0o7777) !== 0o755) {
    if (st) ctx.log.info({ root }, `making ${root} root's own (the app user keeps its checkouts and venvs)`);
    await ensureOwnedDir(root, rootOwner, 0o755);
  }
  // Written once: every deploy (a timer's no-op too) passes here, and an fsync'd rewrite costs.
  await writeIfChanged(rootMarker(ctx), root + "\n", 0o600);
  const venvs = path.join(root, "venvs");
  await ensureOwnedDir(venvs, rootOwner, 0o755);
  const owner = { uid: user.uid, gid: user.gid };
  for (const color of COLORS) {
    await ensureOwnedDir(ctx.layout.checkout(color), owner, 0o750);
    await ensureOwnedDir(ctx.layout.venv(color), owner, 0o750);
  }
  await ensureOwnedDir(ctx.layout.cacheDir, owner, 0o700);
  await ensureDataDir(ctx, user);
}

/**
 * The services' data directory: under /var/lib, systemd's StateDirectory= makes it (and hands it
 * to the user); elsewhere rf-agent does, below a parent only root can write.
 */
async function ensureDataDir(ctx: Context, user: UnixUser): Promise<void> {
  const dir = ctx.layout.dataDir;
  const st = await lstatOrNull(dir);
  if (st?.isDirectory() && st.uid === user.uid) return;
  try {
    await assertRootOnlyDir(path.dirname(dir));
  } catch {
    throw new RfError(
      "CONFIG",
      `[app] data_dir ${dir} lies in ${path.dirname(dir)}, which users other than root can change`,
      {
        hint: `choose a data_dir whose parent is root's alone (the default is /var/lib/${ctx.config.app.name})`,
        exitCode: 2,
      },
    );
  }
  if (st && st.isDirectory() && st.uid !== 0) {
    throw new RfError("CONFIG", `[app] data_dir ${dir} belongs to another user`, {
      hint: `chown -R ${user.name}: ${dir} if it is this app's data, or choose another data_dir`,
      exitCode: 2,
    });
  }
  await ensureOwnedDir(dir, { uid: user.uid, gid: user.gid }, 0o750);
}
