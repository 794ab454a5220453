import { describe, expect, it } from "vitest";
import type { HistoryEntry } from "../../../src/adapters/history.js";
import { RfError } from "../../../src/errors.js";
import { entryOfRun, reportFailure, reportOutcome } from "../../../src/core/run-report.js";

const A = "a".repeat(40);
const B = "b".repeat(40);

function entry(over: Partial<HistoryEntry> = {}): HistoryEntry {
  return {
    id: "3f9c2a1b",
    command: "deploy",
    trigger: "cli (root)",
    startedAt: "2026-12-02T09:00:01.000Z",
    ms: 8100,
    from: { color: "blue", sha: A },
    to: { color: "green", sha: B },
    outcome: "deployed",
    exitCode: 0,
    steps: [{ step: "fetch", ms: 90, ok: true }],
    ...over,
  };
}

describe("entryOfRun", () => {
  const since = new Date("2026-12-02T09:00:00.500Z");
  it("takes the newest entry of the run's commands started since the process began", () => {
    const older = entry({ id: "old", startedAt: "2026-12-02T08:00:00.000Z" });
    const mine = entry({ id: "mine" });
    expect(entryOfRun([older, mine], ["deploy", "rollback"], since)?.id).toBe("mine");
  });
  it("finds none when the run recorded nothing (a lock refused it, a bad config)", () => {
    expect(entryOfRun([entry({ startedAt: "2026-12-02T09:00:00.499Z" })], ["deploy"], since)).toBeUndefined();
    expect(entryOfRun([entry({ command: "discard" })], ["deploy", "rollback"], since)).toBeUndefined();
  });
});

describe("reportOutcome", () => {
  it("says changed for a deploy with its steps and timing from the history", () => {
    const r = reportOutcome(
      "deploy",
      { outcome: "deployed", from: { color: "blue", sha: A }, to: { color: "green", sha: B }, exitCode: 0 },
      entry(),
    );
    expect(r).toEqual({
      command: "deploy",
      changed: true,
      outcome: "deployed",
      exitCode: 0,
      from: { color: "blue", sha: A },
      to: { color: "green", sha: B },
      id: "3f9c2a1b",
      startedAt: "2026-12-02T09:00:01.000Z",
      ms: 8100,
      steps: [{ step: "fetch", ms: 90, ok: true }],
      error: null,
    });
  });
  it("says unchanged for a commit already live and for a dry run", () => {
    const live = { color: "blue", sha: A };
    expect(reportOutcome("deploy", { outcome: "unchanged", from: live, to: live, exitCode: 0 }).changed).toBe(
      false,
    );
    expect(reportOutcome("deploy", { outcome: "dry-run", from: live, to: live, exitCode: 0 }).changed).toBe(
      false,
    );
    expect(
      reportOutcome("rollback", { outcome: "rolled-back", from: live, to: live, exitCode: 0 }).changed,
    ).toBe(true);
  });
});

describe("reportFailure", () => {
  it("carries the error's code, message and hint, the exit code, and what the run had recorded", () => {
    const e = new RfError("HEALTH", "green never became healthy", { hint: "see the journal" });
    const r = reportFailure("deploy", e, entry({ outcome: "failed", exitCode: 1, error: e.message }));
    expect(r.changed).toBe(false);
    expect(r.outcome).toBe("failed");
    expect(r.exitCode).toBe(1);
    expect(r.to).toEqual({ color: "green", sha: B });
    expect(r.error).toEqual({
      code: "HEALTH",
      message: "green never became healthy",
      hint: "see the journal",
    });
  });
  it("without a history entry: a config error exits 2, a switch back 3, a bug 1 as INTERNAL", () => {
    expect(reportFailure("deploy", new RfError("CONFIG", "bad")).exitCode).toBe(2);
    const back = reportFailure("deploy", new RfError("ROLLED_BACK", "fell over"));
    expect([back.exitCode, back.outcome, back.from, back.steps]).toEqual([3, "rolled-back", null, []]);
    const bug = reportFailure("rollback", new TypeError("x is undefined"));
    expect([bug.exitCode, bug.error?.code, bug.error?.hint]).toEqual([1, "INTERNAL", null]);
  });
});
