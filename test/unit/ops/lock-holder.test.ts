// lockHolder: /proc/locks first, `flock` only when it cannot tell or a holder file contradicts it.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { lockHolder } from "../../../src/ops/lock-holder.js";
import type { Context } from "../../../src/context.js";
import type { Runner } from "../../../src/exec/runner.js";
import { testConfig } from "../helpers/config.js";
import { dirsUnder, fakeContext, tempDir } from "../helpers/fakes.js";

const HOLDER = { pid: 4242, command: "rf-agent deploy", since: "2026-01-01T00:00:00.000Z" };

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

/**
 * A context whose `flock --nonblock` answers `flockExit` (75: held by another). The shared fake
 * runs flock for real; here the kernel's answer is the test's to choose.
 */
function contextWith(flockExit: number) {
  const calls: { file: string }[] = [];
  const run = (async (file: string) => {
    calls.push({ file });
    return { exitCode: flockExit, stdout: "", stderr: "" };
  }) as unknown as Runner;
  const ctx = fakeContext(testConfig(), { run, dirs: dirsUnder(dir) });
  return { ctx, run: { calls } };
}

async function files(ctx: Context, { lock, holder }: { lock: boolean; holder: boolean }) {
  await mkdir(path.dirname(ctx.layout.lockPath), { recursive: true });
  if (lock) await writeFile(ctx.layout.lockPath, "");
  if (holder) await writeFile(ctx.layout.lockHolderPath, JSON.stringify(HOLDER));
}

describe("lockHolder", () => {
  it("is free without a process start when /proc/locks shows no lock and no holder file is left", async () => {
    const { ctx, run } = contextWith(75);
    await files(ctx, { lock: true, holder: false });
    const procLocks = path.join(dir, "locks");
    await writeFile(procLocks, "");
    expect(await lockHolder(ctx, procLocks)).toBeNull();
    expect(run.calls).toEqual([]);
  });

  it("asks flock when a holder file is there but /proc/locks shows nothing (another pid namespace)", async () => {
    const procLocks = path.join(dir, "locks");
    await writeFile(procLocks, "");
    const held = contextWith(75);
    await files(held.ctx, { lock: true, holder: true });
    expect(await lockHolder(held.ctx, procLocks)).toEqual(HOLDER);
    expect(held.run.calls.map((c) => c.file)).toEqual(["flock"]);
    // A holder file a killed run left behind: flock gets the lock, so it is free.
    const stale = contextWith(0);
    expect(await lockHolder(stale.ctx, procLocks)).toBeNull();
    expect(stale.run.calls.map((c) => c.file)).toEqual(["flock"]);
  });

  it("asks flock when /proc/locks cannot be read", async () => {
    const { ctx, run } = contextWith(75);
    await files(ctx, { lock: true, holder: false });
    expect(await lockHolder(ctx, path.join(dir, "no-proc-locks"))).toEqual({
      pid: 0,
      command: "unknown",
      since: "",
    });
    expect(run.calls.map((c) => c.file)).toEqual(["flock"]);
  });
});
