import { describe, expect, it } from "vitest";
import { statOf } from "../../../bench/analysis.js";
import { bins, onWallClock, percentile, sessionSteps, windowLatency } from "../../../bench/latency.js";
import { unnamedGap } from "../../../bench/operations.js";

// Load time 0 is epoch 1000: requests out of order (the load records them as they are answered).
const lat = onWallClock(
  {
    t: [250, 0, 10, 120, 130, 140],
    latency100us: [20, 50, 10, 3000, 40, 60],
    ok: [1, 1, 1, 1, 0, 1],
    sessions: [
      [0, 1],
      [50, 2],
      [160, 1],
    ],
  },
  1000,
);

describe("the load's latency samples", () => {
  it("puts them on the wall clock in send order", () => {
    expect([...lat.at]).toEqual([1000, 1010, 1120, 1130, 1140, 1250]);
    expect([...lat.ms]).toEqual([5, 1, 300, 4, 6, 2]);
  });

  it("takes nearest-rank percentiles of the answered requests of pooled windows", () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 99)).toBe(4);
    expect(percentile([], 50)).toBeNull();
    // The failed request (1130) counts as failed, not as a latency.
    expect(windowLatency(lat, [[1100, 1200]])).toEqual({ n: 3, failed: 1, p50: 6, p99: 300 });
    expect(
      windowLatency(lat, [
        [1000, 1020],
        [1200, 1300],
      ]),
    ).toEqual({ n: 3, failed: 0, p50: 2, p99: 5 });
    expect(windowLatency(lat, [[2000, 3000]])).toEqual({ n: 0, failed: 0, p50: null, p99: null });
  });

  it("bins requests per 100 ms from an origin, and steps the open sessions", () => {
    expect(bins(lat, 1000, 1300, 1100)).toEqual([
      { t: -100, ok: 2, failed: 0, p99Ms: 5 },
      { t: 0, ok: 2, failed: 1, p99Ms: 300 },
      { t: 100, ok: 1, failed: 0, p99Ms: 2 },
    ]);
    expect(sessionSteps(lat, 1100, 1300, 1100)).toEqual([
      { t: 0, open: 2 },
      { t: 60, open: 1 },
    ]);
  });
});

describe("the bench's statistics", () => {
  it("median and p95 by nearest rank, ignoring what was not measured", () => {
    expect(statOf([300, 100, null, 200], "median")).toBe(200);
    expect(statOf([300, 100, undefined, 200], "p95")).toBe(300);
    expect(statOf([null], "median")).toBeNull();
  });

  it("finds the longest stretch of a run that no step names", () => {
    const steps = [
      { step: "prepare", ms: 50, ok: true, at: 1 },
      { step: "fetch", ms: 100, ok: true, at: 51 },
      // alongside: overlapping steps count once
      { step: "end fallback", ms: 30, ok: true, at: 160 },
      { step: "checkout", ms: 80, ok: true, at: 160 },
      { step: "switch nginx", ms: 40, ok: true, at: 400 },
    ];
    expect(unnamedGap({ ms: 445, steps })).toEqual({ ms: 160, after: "checkout" });
    expect(unnamedGap({ ms: 900, steps })).toEqual({ ms: 460, after: "switch nginx (to the run's end)" });
    expect(unnamedGap({ ms: 10, steps: [{ step: "fetch", ms: 5, ok: true }] })).toBeNull();
  });
});
