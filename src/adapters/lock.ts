// One lock per app for every entry point (timer, webhook, SSH). The kernel holds it
// (flock), so it is released the instant its holder dies, even by kill -9.
import { closeSync, constants, openSync } from "node:fs";
import { mkdir, readFile, rm, stat } from "node:fs/promises";
import path from "node:path";
import { RfError } from "../errors.js";
import type { Runner } from "../exec/runner.js";
import { readIfExists, writeAtomic } from "./files.js";

export interface LockHolder {
  pid: number;
  command: string;
  since: string;
}

export interface Lock {
  release(): Promise<void>;
}

// flock's exit status when another process holds the lock.
const CONFLICT = 75;

export function describeHolder(holder: LockHolder | null): string {
  if (!holder) return "an unknown process";
  return `pid ${holder.pid} (${holder.command}), since ${holder.since}`;
}

export async function readHolder(holderPath: string): Promise<LockHolder | null> {
  const text = await readIfExists(holderPath);
  if (!text) return null;
  try {
    return JSON.parse(text) as LockHolder;
  } catch {
    return null;
  }
}

/**
 * `flock` locks our own open lock file, given to it as its fd 3, and exits: the lock belongs to the
 * open file, which this process holds until it releases the lock or dies for any reason (the kernel
 * then closes it, and the lock is free). One short child and no process left to watch.
 */
export async function acquireLock(
  run: Runner,
  lockPath: string,
  holderPath: string,
  waitSec: number,
  command: string,
): Promise<Lock> {
  await mkdir(path.dirname(lockPath), { recursive: true, mode: 0o700 });
  // Close-on-exec (Node's default): no other child of ours inherits the lock.
  const fd = openSync(lockPath, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  try {
    const r = await run(
      "flock",
      ["--exclusive", "--wait", String(waitSec), "--conflict-exit-code", String(CONFLICT), "3"],
      { reject: false, fd3: fd },
    );
    if (r.exitCode === CONFLICT) {
      const holder = await readHolder(holderPath);
      throw new RfError("LOCKED", `another rf-agent run holds the lock: ${describeHolder(holder)}`, {
        hint: "wait for it to finish (see `rf-agent status`), or pass --wait SECONDS to queue behind it",
      });
    }
    if (r.exitCode !== 0) {
      throw new RfError(
        "COMMAND",
        `could not take the lock ${lockPath}: flock exited with status ${r.exitCode}`,
        {
          hint: "check that util-linux's flock is installed (apt-get install util-linux) and that the directory is writable by root",
          details: r.stderr.trim() || undefined,
        },
      );
    }
    const holder: LockHolder = { pid: process.pid, command, since: new Date().toISOString() };
    await writeAtomic(holderPath, JSON.stringify(holder) + "\n", 0o644);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      await rm(holderPath, { force: true });
      closeSync(fd);
    },
  };
}

/** Asks the kernel, not the holder file, which a killed holder leaves behind. */
export async function isLocked(run: Runner, lockPath: string): Promise<boolean> {
  const r = await run("flock", ["--nonblock", "--conflict-exit-code", String(CONFLICT), lockPath, "true"], {
    reject: false,
  });
  return r.exitCode === CONFLICT;
}

/** glibc's major/minor of a dev_t, as the kernel prints them in /proc/locks. */
function majorMinor(dev: bigint): [number, number] {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return [Number(major), Number(minor)];
}

/**
 * Whether /proc/locks shows a flock held on the file: no process start, which `status` feels.
 * null when it cannot tell (unreadable); a lock whose holder is in another pid namespace is not
 * shown there, so "false" is only as good as the caller's other evidence (the holder file).
 */
export async function heldInProcLocks(lockPath: string, procLocks = "/proc/locks"): Promise<boolean | null> {
  const file = await stat(lockPath, { bigint: true }).catch((e: NodeJS.ErrnoException) =>
    e.code === "ENOENT" ? undefined : null,
  );
  if (file === undefined) return false;
  if (file === null) return null;
  const text = await readFile(procLocks, "utf8").catch(() => null);
  if (text === null) return null;
  const [major, minor] = majorMinor(file.dev);
  for (const line of text.split("\n")) {
    // "1: FLOCK  ADVISORY  WRITE 1234 fe:00:2146419 0 EOF"; a waiter's line has "->" and holds nothing.
    const f = line.trim().split(/\s+/);
    if (f[1] !== "FLOCK" || f.includes("->")) continue;
    const m = /^([0-9a-f]+):([0-9a-f]+):(\d+)$/.exec(f[5] ?? "");
    if (m && parseInt(m[1]!, 16) === major && parseInt(m[2]!, 16) === minor && BigInt(m[3]!) === file.ino)
      return true;
  }
  return false;
}
