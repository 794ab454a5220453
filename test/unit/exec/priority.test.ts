import { getPriority } from "node:os";
import { describe, expect, it } from "vitest";
import { raisePriority, RAISED_NICE } from "../../../src/exec/priority.js";

describe("raisePriority", () => {
  it("runs root's rf-agent at the raised priority, and leaves anyone else's as it is", () => {
    const before = getPriority();
    raisePriority();
    expect(getPriority()).toBe(process.getuid?.() === 0 ? RAISED_NICE : before);
  });
});
