import { describe, expect, it } from "vitest";
import { covered } from "../../../bench/analysis.js";

describe("covered", () => {
  it("counts steps that ran together once, and the gaps between steps not at all", () => {
    const steps = [
      { ms: 100, endMs: 100 }, // 0-100
      { ms: 300, endMs: 450 }, // 150-450, alongside the next
      { ms: 200, endMs: 400 }, // 200-400
      { ms: 50, endMs: 600 }, // 550-600
    ];
    expect(covered(steps)).toBe(100 + 300 + 50);
  });

  it("counts a step without its end time whole", () => {
    expect(
      covered([
        { ms: 70, endMs: null },
        { ms: 30, endMs: 30 },
      ]),
    ).toBe(100);
  });
});
