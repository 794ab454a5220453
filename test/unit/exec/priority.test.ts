import { readFileSync } from "node:fs";
import { getPriority } from "node:os";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { autogroupNice, RAISED_NICE } from "../../../src/exec/priority.js";

const root = process.getuid?.() === 0;
// In a child of its own session: the test runner's priority and session are left alone.
const probe = `import { raisePriority } from "./src/exec/priority.ts";
import { readFileSync } from "node:fs";
import { getPriority } from "node:os";
raisePriority();
console.log(JSON.stringify({ nice: getPriority(), group: readFileSync("/proc/self/autogroup", "utf8").trim() }));`;

describe("raisePriority", () => {
  it("reads the autogroup's nice value", () => {
    expect(autogroupNice("/autogroup-42 nice 0\n")).toBe(0);
    expect(autogroupNice("/autogroup-7 nice -10")).toBe(-10);
    expect(autogroupNice("garbage")).toBeNull();
  });

  it("runs root's rf-agent at the raised priority, its session's group too while it runs", async () => {
    // The shell shares the session: once rf-agent's stand-in exits, the group's value is back.
    const r = await execa("setsid", [
      "-w",
      "sh",
      "-c",
      'npx tsx --input-type=module -e "$1" && cat /proc/self/autogroup',
      "sh",
      probe,
    ]);
    const [json, after] = r.stdout.trim().split("\n").slice(-2);
    const seen = JSON.parse(json!) as { nice: number; group: string };
    expect(seen.nice).toBe(root ? RAISED_NICE : getPriority());
    expect(autogroupNice(seen.group)).toBe(root ? RAISED_NICE : 0);
    expect(autogroupNice(after!)).toBe(0);
    // The runner's own session is untouched.
    expect(autogroupNice(readFileSync("/proc/self/autogroup", "utf8"))).toBe(0);
  });
});
