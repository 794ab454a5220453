// stopLeftover: after a run killed past its switch (or while starting), the next run stops the color
// that neither serves nor stands by, once its connections have drained.
import { describe, expect, it } from "vitest";
import type { Color } from "../../../src/config/types.js";
import { emptyState, type State } from "../../../src/core/state.js";
import { stopLeftover } from "../../../src/ops/reconcile.js";
import { sha, testConfig } from "../helpers/config.js";
import { captureLogger, fakeContext, fakeRunner } from "../helpers/fakes.js";

function host(activeState: Record<Color, string>) {
  const slept: number[] = [];
  const run = fakeRunner((file, args) => {
    if (file === "systemctl" && args[0] === "show") {
      const color: Color = args[1]?.includes("@green.") ? "green" : "blue";
      return { stdout: `ActiveState=${activeState[color]}\nSubState=running\nMainPID=42\nNRestarts=0` };
    }
    return {};
  });
  const { log, records } = captureLogger();
  const ctx = fakeContext(testConfig(), {
    run,
    log,
    sleep: async (ms) => void slept.push(ms),
  });
  const stops = () =>
    run.calls.filter((c) => c.file === "systemctl" && c.args[0] === "stop").map((c) => c.args.slice(1));
  return { ctx, run, records, slept, stops };
}

function blueLive(over: Partial<State> = {}): State {
  return {
    ...emptyState("demo"),
    live: { color: "blue", sha: sha("b"), since: new Date().toISOString() },
    previous: { color: "green", sha: sha("a") },
    slots: { blue: { sha: sha("b"), installedAt: "x" }, green: { sha: sha("a"), installedAt: "x" } },
    ...over,
  };
}

describe("stopLeftover", () => {
  it("drains, then stops a color that runs but neither serves nor stands by", async () => {
    const h = host({ blue: "active", green: "active" });
    await stopLeftover(h.ctx, blueLive());
    expect(h.stops()).toEqual([["demo-api@green.service", "demo-web@green.service"]]);
    // the grace went by and the old color's connections were counted before the stop
    expect(h.slept.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    const ssAt = h.run.calls.findIndex((c) => c.file === "ss");
    const stopAt = h.run.calls.findIndex((c) => c.args[0] === "stop");
    expect(ssAt).toBeGreaterThanOrEqual(0);
    expect(ssAt).toBeLessThan(stopAt);
    expect(h.records.some((r) => String(r.msg).startsWith("the green color runs but neither serves"))).toBe(
      true,
    );
  });

  it("counts a unit in its restart loop (activating) as running", async () => {
    const h = host({ blue: "active", green: "activating" });
    await stopLeftover(h.ctx, blueLive());
    expect(h.stops()).toHaveLength(1);
  });

  it("leaves a warm standby alone", async () => {
    const h = host({ blue: "active", green: "active" });
    await stopLeftover(
      h.ctx,
      blueLive({ standby: { color: "green", until: new Date(Date.now() + 60_000).toISOString() } }),
    );
    expect(h.stops()).toEqual([]);
  });

  it("does nothing when the other color is stopped or failed", async () => {
    for (const state of ["inactive", "failed"]) {
      const h = host({ blue: "active", green: state });
      await stopLeftover(h.ctx, blueLive());
      expect(h.stops()).toEqual([]);
      expect(h.slept).toEqual([]);
    }
  });

  it("does nothing before the first deploy", async () => {
    const h = host({ blue: "active", green: "active" });
    await stopLeftover(h.ctx, emptyState("demo"));
    expect(h.run.calls).toEqual([]);
  });
});
