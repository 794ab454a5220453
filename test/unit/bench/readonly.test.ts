import { describe, expect, it } from "vitest";
import { readOnlyTargets, type ReadOnlyRun } from "../../../bench/readonly.js";

const run = (command: string, ms: number, rssKb: number, exitCode = 0): ReadOnlyRun => ({
  command,
  ms,
  rssKb,
  exitCode,
});
const fine = [run("history", 80, 50_000), run("logs -n 20", 90, 52_000)];

describe("readOnlyTargets", () => {
  it("passes a command whose median is under 250 ms and whose every run stayed under 70 MB", () => {
    const t = readOnlyTargets([
      run("status", 120, 60_000),
      run("status", 400, 61_000),
      run("status", 130, 62_000),
      ...fine,
    ]);
    expect(t.map((x) => x.pass)).toEqual([true, true, true]);
    expect(t[0]!.measured).toContain("median 130 ms");
  });

  it("fails on the median, on one run's peak memory, on a failed run, and when nothing ran", () => {
    const slow = readOnlyTargets([run("status", 260, 60_000), run("status", 250, 60_000), ...fine]);
    expect(slow[0]!.pass).toBe(false);
    const fat = readOnlyTargets([run("status", 100, 60_000), run("status", 100, 72_000), ...fine]);
    expect(fat[0]!.pass).toBe(false);
    expect(fat[0]!.measured).toContain("peak RSS 70.3 MB");
    const failed = readOnlyTargets([run("status", 100, 60_000, 2), ...fine]);
    expect(failed[0]!.measured).toContain("1 exited non-zero");
    expect(failed[0]!.pass).toBe(false);
    expect(readOnlyTargets(fine)[0]!.pass).toBe(false);
  });
});
