import { describe, expect, it } from "vitest";
import { formatStatus, type StatusReport } from "../../../src/commands/status.js";

const report = (patch: Partial<StatusReport> = {}): StatusReport => ({
  app: "demo",
  live: { color: "blue", sha: "a".repeat(40), since: "2026-01-01T00:00:00.000Z" },
  nginx: { color: "blue", sha: "a".repeat(40) },
  previous: null,
  standby: null,
  slots: {
    blue: { sha: "a".repeat(40), role: "live", services: {} },
    green: { sha: null, role: "idle", services: {} },
  },
  lock: null,
  preview: null,
  staged: null,
  lastRun: null,
  ...patch,
});

describe("formatStatus", () => {
  it("prints what serves", () => {
    expect(formatStatus(report())).toBe(
      [
        "app      demo",
        "live     blue aaaaaaaaaaaa since 2026-01-01T00:00:00.000Z",
        "blue     aaaaaaaaaaaa  live",
        "green    (empty)  idle",
        "lock     free",
      ].join("\n"),
    );
  });

  it("strips escape sequences and line breaks from a delivery id in the trigger and from the lock holder", () => {
    const text = formatStatus(
      report({
        lastRun: {
          id: "ab12cd34",
          command: "deploy",
          startedAt: "2026-01-01T00:00:00.000Z",
          outcome: "deployed",
          trigger: "webhook (delivery \u001b]0;owned\u0007x\u001b[2J\nlive     green forged)",
        },
        lock: { pid: 7, command: "rf-agent deploy\u001b[8m", since: "now" },
      }),
    );
    expect([...text].filter((ch) => ch !== "\n" && (ch < " " || (ch >= "\u007f" && ch <= "\u009f")))).toEqual(
      [],
    );
    expect(text).toContain(
      "last     deploy deployed at 2026-01-01T00:00:00.000Z (webhook (delivery x live     green forged), id ab12cd34)",
    );
    expect(text).toContain("lock     held by pid 7 (rf-agent deploy) since now");
    expect(text.split("\n").filter((l) => l.startsWith("live"))).toHaveLength(1);
  });
});
