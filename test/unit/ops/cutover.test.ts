// The switch and what follows, on a pretend host (helpers/host.ts). Date is faked and the
// context's sleep moves it on, so the watch, grace and drain take no real time.
import { readFile } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Config } from "../../../src/config/types.js";
import { emptyState, withSlot, type State } from "../../../src/core/state.js";
import { RfError } from "../../../src/errors.js";
import { planSwitch } from "../../../src/core/plan.js";
import type { Color } from "../../../src/config/types.js";
import type { Context } from "../../../src/context.js";
import { execute } from "../../../src/ops/execute.js";
import { Steps } from "../../../src/ops/steps.js";
import { fakeRun } from "../helpers/run.js";
import { sha } from "../helpers/config.js";
import { tempDir } from "../helpers/fakes.js";
import { enabledUnits, fakeHost, hostModel, writeInclude, type HostModel } from "../helpers/host.js";

const T0 = new Date("2025-04-01T08:00:00.000Z").getTime();
let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(T0);
});
afterEach(async () => {
  vi.useRealTimers();
  await cleanup();
});

const sleep = async (ms: number) => void vi.setSystemTime(Date.now() + ms);

const CUTOVER = ["switch nginx", "watch", "drain + stop old"];

/** The cutover steps of a plan (switch nginx, watch, drain + stop old), run by the executor. */
async function cutover(ctx: Context, steps: Steps, state: State, to: Color, toSha: string) {
  const live = state.live ? { color: state.live.color, sha: state.live.sha } : null;
  const plan = planSwitch({ config: ctx.config, live, staged: { color: to, sha: toSha }, running: true });
  const only = { ...plan, steps: plan.steps.filter((s) => CUTOVER.includes(s.name)) };
  const r = await execute(ctx, fakeRun(ctx, steps).run, only, state);
  if (!r.done) throw new Error("a cutover has no fetch to find the live commit");
  return { state: r.scope.state, openAtDeadline: r.scope.openAtDeadline ?? 0 };
}

async function setup(host: HostModel, patch?: (c: Config) => void) {
  const h = await fakeHost(dir, host, { patch, sleep });
  const steps = new Steps(h.ctx.log);
  const saved = async () => JSON.parse(await readFile(h.ctx.layout.statePath, "utf8")) as State;
  // Stops of the app's own units (not of the standby-expiry timer).
  const stopped = () =>
    h.run.calls
      .filter((c) => c.file === "systemctl" && c.args[0] === "stop" && c.args[1]?.startsWith("demo-"))
      .map((c) => c.args.slice(1).join(" "));
  return { ...h, steps, saved, stopped };
}

/** Blue serves sha a; green holds sha b, installed and healthy. */
async function blueLive(host: HostModel, patch?: (c: Config) => void) {
  const s = await setup(host, patch);
  await writeInclude(s.ctx, "blue", sha("a"));
  host.served = { color: "blue", sha: sha("a") };
  host.active.blue = true;
  host.active.green = true;
  let state: State = {
    ...emptyState("demo"),
    live: { color: "blue", sha: sha("a"), since: new Date(T0 - 86_400_000).toISOString() },
    slots: { blue: { sha: sha("a"), installedAt: "2025-03-01T00:00:00.000Z" }, green: null },
  };
  state = withSlot(state, "green", sha("b"), new Date(T0));
  return { ...s, state };
}

describe("cutover", () => {
  it("on a first deploy switches, watches, and has no old color to retire", async () => {
    const host = hostModel();
    const { ctx, steps, saved, stopped } = await setup(host);
    const state = withSlot(emptyState("demo"), "blue", sha("a"), new Date(T0));
    const r = await cutover(ctx, steps, state, "blue", sha("a"));
    expect(host.served).toEqual({ color: "blue", sha: sha("a") });
    // nothing ran before: nothing to fall back to
    expect(host.fallback).toBe(false);
    expect(r.openAtDeadline).toBe(0);
    expect(r.state.live).toEqual({ color: "blue", sha: sha("a"), since: new Date(T0).toISOString() });
    expect(r.state.previous).toBeNull();
    expect(await saved()).toEqual(r.state);
    expect(steps.records.map((s) => [s.step, s.ok])).toEqual([
      ["switch nginx", true],
      ["watch", true],
    ]);
    expect(stopped()).toEqual([]);
    expect(Date.now() - T0).toBe(10_000);
  });

  it("moves traffic to the new color, then drains and stops the old one", async () => {
    const host = hostModel();
    const { ctx, steps, state, saved, stopped } = await blueLive(host);
    const r = await cutover(ctx, steps, state, "green", sha("b"));
    expect(host.served).toEqual({ color: "green", sha: sha("b") });
    // the old color stays nginx's fallback for what cannot reach the new one
    expect(host.fallback).toBe(true);
    expect(r.state.live).toMatchObject({ color: "green", sha: sha("b") });
    expect(r.state.previous).toEqual({ color: "blue", sha: sha("a") });
    expect(r.state.standby).toBeNull();
    expect(await saved()).toEqual(r.state);
    expect(steps.records.map((s) => s.step)).toEqual(["switch nginx", "watch", "drain + stop old"]);
    expect(stopped()).toEqual(["demo-api@blue.service demo-web@blue.service"]);
    expect(host.active).toEqual({ blue: false, green: true });
  });

  it("keeps the old color as warm standby, records until when, and schedules its end", async () => {
    const host = hostModel();
    const { ctx, run, steps, state, stopped } = await blueLive(host, (c) => (c.switch.standbySec = 300));
    const r = await cutover(ctx, steps, state, "green", sha("b"));
    expect(stopped()).toEqual([]);
    expect(host.active.blue).toBe(true);
    expect(r.state.standby?.color).toBe("blue");
    // Standby counts from the end of the drain: watch 10 s, then grace 5 s from the flip.
    expect(r.state.standby?.until).toBe(new Date(T0 + 10_000 + 300_000).toISOString());
    const timer = run.calls.find((c) => c.file === "systemd-run");
    expect(timer?.args).toContain("--unit=rf-agent-demo-standby-expiry");
    expect(timer?.args).toContain("--on-active=301s");
    expect(timer?.args.slice(-5)).toEqual(["reconcile", "--config", ctx.config.source, "--wait", "600"]);
  });

  it("schedules no standby expiry when the old color is stopped", async () => {
    const { ctx, run, steps, state } = await blueLive(hostModel());
    await cutover(ctx, steps, state, "green", sha("b"));
    expect(run.calls.some((c) => c.file === "systemd-run")).toBe(false);
  });

  it("switches back and fails with ROLLED_BACK when the new color fails while watched", async () => {
    const host = hostModel();
    const { ctx, steps, state, saved, stopped } = await blueLive(host);
    host.healthy.green = false;
    const e = await cutover(ctx, steps, state, "green", sha("b")).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RfError);
    expect(e).toMatchObject({
      code: "ROLLED_BACK",
      exitCode: 3,
      message: "the green color failed its health check after the switch; switched back to the blue color",
    });
    expect(host.fallback).toBe(false);
    expect(host.served).toEqual({ color: "blue", sha: sha("a") });
    const after = await saved();
    expect(after.live).toMatchObject({ color: "blue", sha: sha("a") });
    expect(after.standby).toBeNull();
    expect(stopped()).toEqual(["demo-api@green.service demo-web@green.service"]);
    expect(steps.records.map((s) => s.step)).toEqual([
      "switch nginx",
      "watch",
      "switch back",
      "stop failed color",
    ]);
    // Two failed checks 0.5 s apart: the rollback does not wait out the 10 s watch; then the failed
    // color's 5 s grace (its open requests and sessions drain) before it stops.
    expect(Date.now() - T0).toBe(500 + 5000);
  });

  it("fails with HEALTH when a first deploy fails while watched: nothing to go back to", async () => {
    const host = hostModel({ healthy: { blue: false, green: false } });
    const { ctx, steps } = await setup(host);
    const e = await cutover(ctx, steps, emptyState("demo"), "blue", sha("a")).catch((x: unknown) => x);
    expect(e).toMatchObject({
      code: "HEALTH",
      message:
        "the blue color failed its health check after the switch, and there is no previous version to switch back to",
    });
  });

  it("does not watch when watch is 0", async () => {
    const host = hostModel({ healthy: { blue: false, green: false } });
    const { ctx, steps, state } = await blueLive(host, (c) => (c.switch.watchSec = 0));
    const r = await cutover(ctx, steps, state, "green", sha("b"));
    expect(r.state.live?.color).toBe("green");
    expect(steps.records.map((s) => s.step)).toEqual(["switch nginx", "drain + stop old"]);
  });
});

describe("cutover and boot", () => {
  const bootCalls = (run: { calls: { file: string; args: string[] }[] }) =>
    run.calls
      .filter((c) => c.file === "systemctl" && ["enable", "disable"].includes(c.args[0] ?? ""))
      .map((c) => c.args.join(" "));

  it("enables the new color (and nginx) for boot and disables the old one, with the old as standby too", async () => {
    const host = hostModel();
    const { ctx, run, steps, state } = await blueLive(host, (c) => (c.switch.standbySec = 300));
    await cutover(ctx, steps, state, "green", sha("b"));
    expect(bootCalls(run)).toEqual([
      "enable --no-reload demo-api@green.service demo-web@green.service nginx.service",
    ]);
    expect(enabledUnits(dir)).toEqual(["demo-api@green.service", "demo-web@green.service", "nginx.service"]);
    // the standby runs now, but a reboot would not bring it back
    expect(host.active.blue).toBe(true);
  });

  it("moves the enablement from the old color to the new one on the next switch", async () => {
    const host = hostModel();
    const { ctx, run, steps, state } = await blueLive(host);
    await run("systemctl", ["enable", "--no-reload", "demo-api@blue.service", "demo-web@blue.service"]);
    run.calls.length = 0;
    await cutover(ctx, steps, state, "green", sha("b"));
    expect(bootCalls(run)).toEqual([
      "enable --no-reload demo-api@green.service demo-web@green.service nginx.service",
      "disable --no-reload demo-api@blue.service demo-web@blue.service",
    ]);
    expect(enabledUnits(dir)).toEqual(["demo-api@green.service", "demo-web@green.service", "nginx.service"]);
  });

  it("gives boot back to the old color when the watch switches back", async () => {
    const host = hostModel();
    const { ctx, steps, state } = await blueLive(host);
    host.healthy.green = false;
    await cutover(ctx, steps, state, "green", sha("b")).catch(() => undefined);
    expect(enabledUnits(dir)).toEqual(["demo-api@blue.service", "demo-web@blue.service", "nginx.service"]);
  });

  it("only warns when systemctl enable fails: the release is live either way", async () => {
    const host = hostModel();
    const { ctx, steps, state, records } = await blueLive(host);
    const inner = ctx.run;
    const run = Object.assign(
      async (file: string, args: string[], opts?: Parameters<typeof inner>[2]) =>
        file === "systemctl" && args[0] === "enable"
          ? Promise.reject(new RfError("SYSTEMD", "systemctl enable failed"))
          : inner(file, args, opts),
      { calls: [] },
    );
    const r = await cutover({ ...ctx, run }, steps, state, "green", sha("b"));
    expect(r.state.live?.color).toBe("green");
    expect(
      records.some((x) => x.level === 40 && String(x.msg).startsWith("could not enable the green color")),
    ).toBe(true);
  });
});
