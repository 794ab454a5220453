import { afterEach, describe, expect, it } from "vitest";
import { clearMarks, MARK, mark, markedAt, startupParts, uptimeMs } from "../../../src/boot/start-marks.js";

const busy = (ms: number) => {
  const until = uptimeMs() + ms;
  while (uptimeMs() < until);
};

describe("startupParts", () => {
  afterEach(() => clearMarks());

  it("splits the start-up at the marks, in parts that add up to it", () => {
    mark(MARK.cli);
    busy(3);
    mark(MARK.compiled);
    busy(2);
    mark(MARK.lockAsked);
    busy(4);
    mark(MARK.lockHeld);
    busy(1);
    const runStart = uptimeMs();
    const p = startupParts(runStart)!;
    const at = (name: string) => markedAt(name)!;
    expect(p.node).toBe(Math.round(at(MARK.cli)));
    expect(p.bundle).toBe(Math.round(at(MARK.compiled) - at(MARK.cli)));
    expect(p.lock).toBeGreaterThanOrEqual(4);
    expect(p.env).toBeGreaterThanOrEqual(1);
    const sum = p.node + p.bundle + p.setup + p.lock + p.env;
    expect(Math.abs(sum - runStart)).toBeLessThanOrEqual(3);
  });

  it("says what became of the code cache, as the loader's mark has it", () => {
    mark(MARK.cli);
    mark(MARK.compiled, { cache: "rejected" });
    mark(MARK.lockAsked);
    mark(MARK.lockHeld);
    expect(startupParts(uptimeMs())?.codeCache).toBe("rejected");
    mark(MARK.compiled, { cache: "something else" });
    mark(MARK.lockAsked);
    mark(MARK.lockHeld);
    expect(startupParts(uptimeMs())).not.toHaveProperty("codeCache");
  });

  it("takes the latest mark of each name (a second run in one process)", () => {
    for (const name of Object.values(MARK)) mark(name);
    busy(5);
    mark(MARK.lockAsked);
    busy(5);
    mark(MARK.lockHeld);
    const p = startupParts(uptimeMs())!;
    expect(p.setup).toBeGreaterThanOrEqual(5);
    expect(p.lock).toBeGreaterThanOrEqual(5);
  });

  it("gives nothing when a mark is missing: no entry point of ours ran (the single executable, a test)", () => {
    mark(MARK.compiled);
    mark(MARK.lockAsked);
    mark(MARK.lockHeld);
    expect(startupParts(uptimeMs())).toBeNull();
  });

  it("gives nothing when the marks are out of order rather than a negative part", () => {
    mark(MARK.cli);
    mark(MARK.compiled);
    mark(MARK.lockAsked);
    mark(MARK.lockHeld);
    expect(startupParts(0)).toBeNull();
  });
});
