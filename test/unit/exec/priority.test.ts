import { mkdtempSync, readFileSync } from "node:fs";
import { getPriority, tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { autogroupNice, RAISED_NICE } from "../../../src/exec/priority.js";

const root = process.getuid?.() === 0;
// In a child of its own session: the test runner's priority and session are left alone.
const probe = `import { raisePriority } from "./src/exec/priority.ts";
import { mkdtempSync, readFileSync } from "node:fs";
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
    const mine = autogroupNice(readFileSync("/proc/self/autogroup", "utf8"));
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
    // Stopped by a signal once raised, it still ends by that signal, and the group's value is back.
    const marker = path.join(mkdtempSync(path.join(tmpdir(), "rf-prio-")), "raised");
    const stopped = await execa(
      "setsid",
      [
        "-w",
        "sh",
        "-c",
        `node --import tsx --input-type=module -e "$1" & while [ ! -e "$2" ]; do sleep 0.05; done
kill -TERM $!; wait $!; echo "exit $?"; cat /proc/self/autogroup`,
        "sh",
        `${probe}\nimport { writeFileSync } from "node:fs";\nwriteFileSync(${JSON.stringify(marker)}, "");\nsetTimeout(() => undefined, 30_000);`,
        marker,
      ],
      { reject: false, timeout: 25_000 },
    );
    const lines = stopped.stdout.trim().split("\n");
    expect(autogroupNice((JSON.parse(lines[0]!) as { group: string }).group)).toBe(root ? RAISED_NICE : 0);
    expect(lines.at(-2)).toBe("exit 143");
    expect(autogroupNice(lines.at(-1)!)).toBe(0);
    // The runner's own session is untouched (whatever it was: an rf-agent killed with SIGKILL in it
    // earlier, as the fault matrix does, cannot have put it back).
    expect(autogroupNice(readFileSync("/proc/self/autogroup", "utf8"))).toBe(mine);
  });
});
