// Uses the real `flock` (util-linux): the lock is the kernel's, so only a real one tests it.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  acquireLock,
  describeHolder,
  heldInProcLocks,
  isLocked,
  readHolder,
  type Lock,
} from "../../../src/adapters/lock.js";
import { RfError } from "../../../src/errors.js";
import { createRunner } from "../../../src/exec/runner.js";
import { captureLogger, tempDir } from "../helpers/fakes.js";

const run = createRunner(captureLogger().log);

let dir: string;
let cleanup: () => Promise<void>;
let lockPath: string;
let holderPath: string;
const locks: Lock[] = [];
const children: ChildProcess[] = [];

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  lockPath = path.join(dir, "run", "demo.lock");
  holderPath = path.join(dir, "run", "demo.lock.holder");
});

/** `flock LOCK sleep 30` in its own process group, as a foreign holder of the lock. */
async function foreignHolder(): Promise<ChildProcess> {
  await mkdir(path.dirname(lockPath), { recursive: true });
  const child = spawn("flock", [lockPath, "sleep", "30"], { detached: true, stdio: "ignore" });
  children.push(child);
  expect(await until(() => isLocked(run, lockPath))).toBe(true);
  return child;
}

afterEach(async () => {
  for (const lock of locks.splice(0)) await lock.release();
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    }
  }
  await cleanup();
});

async function acquire(waitSec = 0, command = "rf-agent deploy"): Promise<Lock> {
  const lock = await acquireLock(run, lockPath, holderPath, waitSec, command);
  locks.push(lock);
  return lock;
}

async function until(check: () => Promise<boolean>, ms = 3000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

function lineFrom(child: ChildProcess, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes(text)) resolve();
    });
    child.once("exit", (code) => reject(new Error(`child exited (${code}) before printing ${text}: ${out}`)));
  });
}

describe("acquireLock", () => {
  it("takes the lock and records its holder", async () => {
    expect(await isLocked(run, lockPath)).toBe(false);
    await acquire(0, "rf-agent deploy --ref v1");
    expect(await isLocked(run, lockPath)).toBe(true);
    const holder = await readHolder(holderPath);
    expect(holder).toMatchObject({ pid: process.pid, command: "rf-agent deploy --ref v1" });
    expect(new Date(holder!.since).getTime()).not.toBeNaN();
  });

  it("refuses a second holder at once with LOCKED, exit code 4, naming the holder's pid", async () => {
    await acquire(0, "rf-agent deploy");
    const started = Date.now();
    const e = await acquireLock(run, lockPath, holderPath, 0, "rf-agent rollback").catch((x: unknown) => x);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(e).toBeInstanceOf(RfError);
    const err = e as RfError;
    expect(err.code).toBe("LOCKED");
    expect(err.exitCode).toBe(4);
    expect(err.message).toContain(`pid ${process.pid} (rf-agent deploy)`);
    expect(err.hint).toContain("--wait");
    // The refused run must not have overwritten the holder file.
    expect((await readHolder(holderPath))?.command).toBe("rf-agent deploy");
  });

  it("is free again after release: holder file gone, a new acquire works", async () => {
    const first = await acquire();
    await first.release();
    expect(await isLocked(run, lockPath)).toBe(false);
    expect(await readIfMissing(holderPath)).toBe(true);
    await acquire(0, "second");
    expect((await readHolder(holderPath))?.command).toBe("second");
    await first.release(); // a second release is harmless
    expect(await isLocked(run, lockPath)).toBe(true);
  });

  it("leaves no process behind while held: the lock is our open file's", async () => {
    await acquire();
    const children = await run("pgrep", ["-P", String(process.pid), "-x", "flock"], { reject: false });
    expect(children.stdout).toBe("");
    expect(await isLocked(run, lockPath)).toBe(true);
  });

  it("is not inherited by a child started while it is held: released is released", async () => {
    const lock = await acquire();
    // A long child of ours, as a deploy starts them while it holds the lock.
    const child = run("sleep", ["5"], { reject: false, timeoutMs: 5000 });
    await new Promise((r) => setTimeout(r, 100));
    await lock.release();
    expect(await isLocked(run, lockPath)).toBe(false);
    await acquire(0, "next");
    const sleeping = await run("pgrep", ["-P", String(process.pid), "-x", "sleep"], { reject: false });
    for (const pid of sleeping.stdout.split("\n").filter(Boolean)) process.kill(Number(pid), "SIGKILL");
    await child;
  });

  it("with --wait, queues until the holder releases", async () => {
    const first = await acquire();
    setTimeout(() => void first.release(), 300);
    const started = Date.now();
    await acquire(5, "queued");
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect((await readHolder(holderPath))?.command).toBe("queued");
  });

  it("names an unknown process when the holder file is missing", async () => {
    await foreignHolder();
    await expect(acquireLock(run, lockPath, holderPath, 0, "x")).rejects.toThrow(
      "another rf-agent run holds the lock: an unknown process",
    );
  });

  it("is free again once a holder is killed with SIGKILL", async () => {
    const child = await foreignHolder();
    // flock and the command it runs (which inherits the lock) die together, as with a killed unit.
    process.kill(-child.pid!, "SIGKILL");
    expect(await until(async () => !(await isLocked(run, lockPath)))).toBe(true);
    await acquire(0, "after the kill");
    expect(await isLocked(run, lockPath)).toBe(true);
  });

  it("is free again once an rf-agent process holding it via acquireLock is killed with SIGKILL", async () => {
    const lockModule = pathToFileURL(path.resolve("src/adapters/lock.ts")).href;
    const runnerModule = pathToFileURL(path.resolve("src/exec/runner.ts")).href;
    const logModule = pathToFileURL(path.resolve("src/log.ts")).href;
    const script = `
      const { acquireLock } = await import(${JSON.stringify(lockModule)});
      const { createRunner } = await import(${JSON.stringify(runnerModule)});
      const { createLogger } = await import(${JSON.stringify(logModule)});
      const run = createRunner(createLogger({ level: "silent" }));
      await acquireLock(run, process.argv[1], process.argv[2], 0, "child deploy");
      console.log("held");
      setInterval(() => {}, 1000);
    `;
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", script, lockPath, holderPath],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    children.push(child);
    await lineFrom(child, "held");
    expect(await isLocked(run, lockPath)).toBe(true);
    await expect(acquireLock(run, lockPath, holderPath, 0, "x")).rejects.toThrow(
      `pid ${child.pid} (child deploy)`,
    );
    child.kill("SIGKILL");
    expect(await until(async () => !(await isLocked(run, lockPath)))).toBe(true);
    // The killed run's holder file is stale but harmless: a new run takes the lock and rewrites it.
    await acquire(0, "next run");
    expect(await readHolder(holderPath)).toMatchObject({ pid: process.pid, command: "next run" });
  }, 15_000);
});

describe("acquireLock without flock", () => {
  it("does not claim another run holds the lock when flock cannot run", async () => {
    const emptyBin = path.join(dir, "empty-bin");
    await mkdir(emptyBin);
    const savedPath = process.env.PATH;
    process.env.PATH = emptyBin;
    let e: unknown;
    try {
      e = await acquireLock(run, lockPath, holderPath, 0, "x").then(
        async (lock) => {
          await lock.release();
          return new Error("acquired a lock without flock");
        },
        (x: unknown) => x,
      );
    } finally {
      process.env.PATH = savedPath;
    }
    expect(e).toBeInstanceOf(RfError);
    const err = e as RfError;
    expect(err.exitCode).not.toBe(4);
    expect(err.message).not.toContain("another rf-agent run holds the lock");
    expect(err.message).toContain("flock");
  });
});

describe("isLocked", () => {
  it("is false for a lock file nobody holds", async () => {
    const lock = await acquire();
    await lock.release();
    expect(await readFile(lockPath, "utf8")).toBe("");
    expect(await isLocked(run, lockPath)).toBe(false);
  });
});

describe("heldInProcLocks", () => {
  it("sees a real flock held on the file, and none once it is released", async () => {
    const lock = await acquire();
    expect(await heldInProcLocks(lockPath)).toBe(true);
    expect(await isLocked(run, lockPath)).toBe(true);
    await lock.release();
    expect(await heldInProcLocks(lockPath)).toBe(false);
  });

  it("is false for a lock file that does not exist", async () => {
    expect(await heldInProcLocks(path.join(dir, "nope.lock"))).toBe(false);
  });

  it("cannot tell without /proc/locks", async () => {
    await mkdir(path.dirname(lockPath), { recursive: true });
    await writeFile(lockPath, "");
    expect(await heldInProcLocks(lockPath, path.join(dir, "no-proc-locks"))).toBeNull();
  });

  it("matches device and inode, and ignores a waiter's line and other files", async () => {
    await mkdir(path.dirname(lockPath), { recursive: true });
    await writeFile(lockPath, "");
    const { dev, ino } = await stat(lockPath, { bigint: true });
    const devText = `${((dev >> 8n) & 0xfffn).toString(16).padStart(2, "0")}:${(dev & 0xffn).toString(16).padStart(2, "0")}`;
    const procLocks = path.join(dir, "locks");
    const lines = (...l: string[]) => writeFile(procLocks, l.join("\n") + "\n");
    await lines(
      `1: FLOCK  ADVISORY  WRITE 77 ${devText}:${ino + 1n} 0 EOF`,
      `1: -> FLOCK  ADVISORY  WRITE 78 ${devText}:${ino} 0 EOF`,
      `2: POSIX  ADVISORY  WRITE 79 ${devText}:${ino} 0 EOF`,
      `3: FLOCK  ADVISORY  WRITE 80 ff:ff:${ino} 0 EOF`,
    );
    expect(await heldInProcLocks(lockPath, procLocks)).toBe(false);
    await lines(`1: FLOCK  ADVISORY  WRITE 77 ${devText}:${ino} 0 EOF`);
    expect(await heldInProcLocks(lockPath, procLocks)).toBe(true);
  });
});

describe("readHolder / describeHolder", () => {
  it("reads nothing from a missing or damaged holder file", async () => {
    expect(await readHolder(holderPath)).toBeNull();
    await mkdir(path.dirname(holderPath), { recursive: true });
    await writeFile(holderPath, "{not json");
    expect(await readHolder(holderPath)).toBeNull();
  });

  it("describes a holder for the LOCKED message", () => {
    expect(describeHolder(null)).toBe("an unknown process");
    expect(describeHolder({ pid: 42, command: "rf-agent deploy", since: "2025-01-01T00:00:00.000Z" })).toBe(
      "pid 42 (rf-agent deploy), since 2025-01-01T00:00:00.000Z",
    );
  });
});

async function readIfMissing(p: string): Promise<boolean> {
  return readFile(p).then(
    () => false,
    () => true,
  );
}
