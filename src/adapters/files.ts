// File system helpers: atomic writes that survive a crash at any instant, and reads and directory
// setup that never follow a path the app user could have changed.
import { randomHex } from "../exec/random.js";
import { constants, type Stats } from "node:fs";
import { mkdir, open, readFile, rename, rm, chmod, lstat, unlink, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { RfError } from "../errors.js";

export async function readIfExists(file: string): Promise<string | null> {
  try {
    return await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** temp file, fsync, rename over, fsync the directory: readers see the old or the new file, never half. */
export async function writeAtomic(
  file: string,
  content: string,
  mode = 0o644,
  owner?: { uid: number; gid: number },
): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomHex(4)}.tmp`);
  const handle = await open(tmp, "w", mode);
  try {
    await handle.writeFile(content);
    await handle.chmod(mode);
    if (owner) await handle.chown(owner.uid, owner.gid);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await fsyncDir(dir);
}

/** Writes only when the content differs; returns whether it changed. */
export async function writeIfChanged(file: string, content: string, mode = 0o644): Promise<boolean> {
  if ((await readIfExists(file)) === content) {
    await chmod(file, mode);
    return false;
  }
  await writeAtomic(file, content, mode);
  return true;
}

/** Creates the directory (and missing parents) with the mode; an existing one is left exactly as it is. */
export async function ensureDir(dir: string, mode: number): Promise<void> {
  const first = await mkdir(dir, { recursive: true, mode });
  // mkdir's mode is filtered by the umask; only what we just created gets its mode set.
  if (first !== undefined) await chmod(dir, mode);
}

/**
 * rf-agent's own root-only directory (its state): created 0700, and tightened back to 0700 when it
 * is root's and was opened up, through a descriptor so a symlink there is never followed.
 */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await ensureDir(dir, 0o700);
  const handle = await open(dir, NO_FOLLOW_DIR);
  try {
    const st = await handle.stat();
    if (st.uid === process.getuid?.() && (st.mode & 0o077) !== 0) await handle.chmod(0o700);
  } finally {
    await handle.close();
  }
}

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK, O_NOCTTY } = constants;
const NO_FOLLOW_DIR = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK;
const NO_FOLLOW_FILE = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY;

// Errors that mean "not a plain file we may read here": a symlink (ELOOP), a FIFO or socket that
// would block (ENXIO), a component that is not a directory, or nothing there.
const NOT_THERE = new Set(["ENOENT", "ELOOP", "ENOTDIR", "ENXIO", "EISDIR"]);

/**
 * Opens `rel` below the trusted directory `base` one component at a time, never following a
 * symlink or blocking on a FIFO: openat(2) through /proc/self/fd, as Node has no openat.
 * Null when any component is a symlink, missing, or of the wrong type.
 */
async function openBeneath(base: string, rel: string, last: "file" | "dir"): Promise<FileHandle | null> {
  const parts = rel.split("/").filter((p) => p && p !== ".");
  if (parts.some((p) => p === "..")) return null;
  let dir: FileHandle;
  try {
    dir = await open(base, NO_FOLLOW_DIR);
  } catch (e) {
    if (NOT_THERE.has((e as NodeJS.ErrnoException).code ?? "")) return null;
    throw e;
  }
  for (const [i, part] of parts.entries()) {
    const isLast = i === parts.length - 1;
    const flags = isLast && last === "file" ? NO_FOLLOW_FILE : NO_FOLLOW_DIR;
    let next: FileHandle;
    try {
      next = await open(`/proc/self/fd/${dir.fd}/${part}`, flags);
    } catch (e) {
      await dir.close();
      if (NOT_THERE.has((e as NodeJS.ErrnoException).code ?? "")) return null;
      throw e;
    }
    await dir.close();
    dir = next;
  }
  return dir;
}

/**
 * Reads a regular file below `base` that someone else controls (a checkout's .git/HEAD): no
 * symlink anywhere below base, no FIFO or device, at most maxBytes. Null when any of that fails.
 */
export async function readBeneath(base: string, rel: string, maxBytes = 64 * 1024): Promise<string | null> {
  const handle = await openBeneath(base, rel, "file");
  if (!handle) return null;
  try {
    const st = await handle.stat();
    if (!st.isFile() || st.size > maxBytes) return null;
    const buf = Buffer.alloc(Math.min(st.size, maxBytes) + 1);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    return bytesRead > maxBytes ? null : buf.subarray(0, bytesRead).toString("utf8");
  } finally {
    await handle.close();
  }
}

/** Whether `rel` below `base` is a regular file (no symlink on the way; a FIFO is opened without blocking). */
export async function isFileBeneath(base: string, rel: string): Promise<boolean> {
  const handle = await openBeneath(base, rel, "file");
  if (!handle) return false;
  try {
    return (await handle.stat()).isFile();
  } finally {
    await handle.close();
  }
}

/** Whether `rel` below `base` is a real directory (no symlink on the way). */
export async function isDirBeneath(base: string, rel: string): Promise<boolean> {
  const handle = await openBeneath(base, rel, "dir");
  await handle?.close();
  return handle !== null;
}

export interface Owner {
  uid: number;
  gid: number;
}

/** lstat, or null when nothing is there. */
export async function lstatOrNull(p: string): Promise<Stats | null> {
  try {
    return await lstat(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
}

/**
 * Makes `dir` a real directory owned by `owner` with `mode`. Its parent must be a directory only
 * root can write (checked), so nobody can swap the entry while we work: a symlink or other file
 * found there (planted while the parent was still the app user's) is removed, and ownership and
 * mode are set through a descriptor opened with O_NOFOLLOW, never by path.
 */
export async function ensureOwnedDir(dir: string, owner: Owner, mode: number): Promise<void> {
  await assertRootOnlyDir(path.dirname(dir));
  const st = await lstatOrNull(dir);
  if (st && !st.isDirectory()) await unlink(dir);
  if (!st || !st.isDirectory()) await mkdir(dir, { mode });
  const handle = await open(dir, NO_FOLLOW_DIR);
  try {
    const now = await handle.stat();
    if (now.uid !== owner.uid || now.gid !== owner.gid) await handle.chown(owner.uid, owner.gid);
    if ((now.mode & 0o7777) !== mode) await handle.chmod(mode);
  } finally {
    await handle.close();
  }
}

/** Refuses a directory that anyone but root could write (or that is not a plain directory). */
export async function assertRootOnlyDir(dir: string): Promise<void> {
  const st = await lstatOrNull(dir);
  if (!st || !st.isDirectory() || st.uid !== 0 || (st.mode & 0o022) !== 0) {
    throw new RfError(
      "STATE",
      `${dir} must be a directory owned by root that only root can write, so that nobody else can replace what rf-agent creates in it`,
      { hint: `chown root:root ${dir} && chmod go-w ${dir}` },
    );
  }
}
