// One lock per app for every entry point (timer, webhook, SSH). The kernel holds it
// (flock), so it is released the instant its holder dies, even by kill -9.
import { mkdir, rm } from "node:fs/promises";
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
 * `flock` holds the lock on our behalf and runs `cat`, which reads our stdin pipe:
 * when this process dies for any reason the pipe closes, cat exits, the lock is free.
 */
export async function acquireLock(
  run: Runner,
  lockPath: string,
  holderPath: string,
  waitSec: number,
  command: string,
): Promise<Lock> {
  await mkdir(path.dirname(lockPath), { recursive: true, mode: 0o700 });
  let closeStdin!: () => void;
  const held = new Promise<void>((resolve) => (closeStdin = resolve));
  let onLocked!: () => void;
  const locked = new Promise<true>((resolve) => (onLocked = () => resolve(true)));
  const flock = run(
    "flock",
    [
      "--exclusive",
      "--wait",
      String(waitSec),
      "--conflict-exit-code",
      String(CONFLICT),
      lockPath,
      "sh",
      "-c",
      "echo locked; exec cat",
    ],
    {
      reject: false,
      stdinUntil: held,
      onLine: (line) => {
        if (line === "locked") onLocked();
      },
    },
  );
  const acquired = await Promise.race([locked, flock.then(() => false)]);
  if (!acquired) {
    const r = await flock;
    if (r.exitCode !== CONFLICT) {
      throw new RfError(
        "COMMAND",
        `could not take the lock ${lockPath}: flock exited with status ${r.exitCode}`,
        {
          hint: "check that util-linux's flock is installed (apt-get install util-linux) and that the directory is writable by root",
          details: r.stderr.trim() || undefined,
        },
      );
    }
    const holder = await readHolder(holderPath);
    throw new RfError("LOCKED", `another rf-agent run holds the lock: ${describeHolder(holder)}`, {
      hint: "wait for it to finish (see `rf-agent status`), or pass --wait SECONDS to queue behind it",
    });
  }
  const holder: LockHolder = { pid: process.pid, command, since: new Date().toISOString() };
  await writeAtomic(holderPath, JSON.stringify(holder) + "\n", 0o644);
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      await rm(holderPath, { force: true });
      closeStdin();
      await flock;
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
