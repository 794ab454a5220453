// deploy, rollback and switch end to end on a pretend host (helpers/release-host.ts): the steps run
// in the plan's order, the printed plan is the plan that runs, and each failure undoes what the
// plan says and leaves the live color serving.
import { MARK, mark } from "../../../src/boot/start-marks.js";
import { readdir, readFile } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { readHistory } from "../../../src/adapters/history.js";
import { deploy, type DeployOptions } from "../../../src/commands/deploy.js";
import { rollback } from "../../../src/commands/rollback.js";
import { switchStaged } from "../../../src/commands/switch.js";
import type { Config } from "../../../src/config/types.js";
import type { Context } from "../../../src/context.js";
import type { State } from "../../../src/core/state.js";
import { parseArmedSwitch, parseLiveInclude } from "../../../src/core/render.js";
import { isRfError } from "../../../src/errors.js";
import { sha } from "../helpers/config.js";
import { hostModel, type HostModel } from "../helpers/host.js";
import { isRoot, releaseHost, releaseHostDir, type Fault, type Remote } from "../helpers/release-host.js";

if (!isRoot) {
  // CI runs as root; ensureRoot chowns ROOT's directories, which only root can.
  console.warn("SKIPPED test/unit/commands/deploy.test.ts: it needs root (ensureRoot chowns directories)");
}

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await releaseHostDir());
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(new Date("2026-12-02T08:00:00.000Z"));
});
afterEach(async () => {
  vi.useRealTimers();
  await cleanup();
});

// The watch, grace and drain take no real time: sleeping moves the faked clock on.
const sleep = async (ms: number) => void vi.setSystemTime(Date.now() + ms);

interface Setup {
  host?: HostModel;
  faults?: Fault[];
  patch?: (c: Config) => void;
}

async function setup(remote: Remote, s: Setup = {}) {
  const host = s.host ?? hostModel();
  const faults = new Set<Fault>(s.faults ?? []);
  const h = await releaseHost(dir, host, remote, { faults, sleep, ...(s.patch ? { patch: s.patch } : {}) });
  const printed: string[] = [];
  const opts = (over: Partial<DeployOptions> = {}): DeployOptions => ({
    force: false,
    dryRun: false,
    waitSec: 0,
    print: (l) => void printed.push(l),
    ...over,
  });
  // The plan's steps as history recorded them: every run first names what it did before it had a plan.
  const steps = async () => {
    const [first, ...planned] = (await readHistory(h.ctx.layout.stateDir)).at(-1)!.steps.map((x) => x.step);
    expect(first).toBe("prepare");
    return planned;
  };
  const state = async () => JSON.parse(await readFile(h.ctx.layout.statePath, "utf8")) as State;
  const stopped = () =>
    h.run.calls
      .filter((c) => c.file === "systemctl" && c.args[0] === "stop" && c.args[1]?.startsWith("demo-"))
      .map((c) => c.args.slice(1).join(" "));
  return { ...h, host, faults, opts, printed, steps, state, stopped };
}

/** A deploy's steps, up to the watch, when nothing is left to drain and no hook is set. */
const INSTALL_AND_SWITCH = [
  "fetch",
  "required env",
  "checkout",
  "pip install",
  "units",
  "ports",
  "start",
  "health",
  "switch nginx",
  "watch",
];

const remoteAt = (tip: string): Remote => ({ tip, requirements: {} });

/** Blue serves sha a after a first deploy; the remote has moved on to b. */
async function blueLive(s: Setup = {}) {
  const remote = remoteAt(sha("a"));
  const h = await setup(remote, s);
  const first = await deploy(h.ctx, h.opts());
  expect(first).toMatchObject({ outcome: "deployed", to: { color: "blue", sha: sha("a") } });
  remote.tip = sha("b");
  h.run.calls.length = 0;
  return { ...h, remote };
}

const failureOf = async (p: Promise<unknown>) => {
  const e = await p.catch((x: unknown) => x);
  if (!isRfError(e))
    throw new Error(`expected an RfError, got ${e instanceof Error ? e.stack : JSON.stringify(e)}`);
  return e;
};

describe.skipIf(!isRoot)("deploy end to end on a pretend host", () => {
  it("a first deploy runs the plan's steps in order and serves the commit", async () => {
    const h = await setup(remoteAt(sha("a")));
    // As dist/cli.js and the bundle's loader mark them in a real process.
    mark(MARK.cli);
    mark(MARK.compiled);
    const out = await deploy(h.ctx, h.opts());
    expect(out).toEqual({
      outcome: "deployed",
      from: null,
      to: { color: "blue", sha: sha("a") },
      exitCode: 0,
    });
    expect(await h.steps()).toEqual(INSTALL_AND_SWITCH);
    // Each step says when it began, so history accounts for the run's time.
    const entry = (await readHistory(h.ctx.layout.stateDir)).at(-1)!;
    expect(entry.startupMs).toEqual(expect.any(Number));
    // and the start-up before the run, in parts (each rounded) that add up to it
    const parts = Object.values(entry.startup!);
    expect(Object.keys(entry.startup!)).toEqual(["node", "bundle", "setup", "lock", "env"]);
    expect(parts.every((ms) => ms >= 0)).toBe(true);
    expect(Math.abs(parts.reduce((a, b) => a + b, 0) - entry.startupMs!)).toBeLessThanOrEqual(3);
    const starts = entry.steps.map((x) => x.at);
    expect(starts.every((at) => typeof at === "number" && at >= 0 && at <= entry.ms)).toBe(true);
    expect(h.host.served).toEqual({ color: "blue", sha: sha("a") });
    expect((await h.state()).live).toMatchObject({ color: "blue", sha: sha("a") });
    expect(h.printed.at(-1)).toBe(`deployed ${sha("a").slice(0, 12)} to blue`);
    // The health step's line says, per service, when the answers that passed began.
    const health = h.records.find((r) => r.step === "health" && typeof r.ms === "number");
    expect(health).toMatchObject({
      msg: expect.stringMatching(/^✓ health/),
      firstHealthy: { api: expect.any(Number), web: expect.any(Number) },
    });
  });

  it("prints as its plan exactly the steps a deploy then runs", async () => {
    const h = await blueLive({ patch: (c) => (c.hooks.preSwitch = "python migrate.py") });
    await deploy(h.ctx, h.opts({ dryRun: true }));
    const planned = h.printed
      .flatMap((l) => l.split("\n"))
      .map((l) => /^\s*\d+\. (.+?)\s{2,}/.exec(l)?.[1])
      .filter((x): x is string => Boolean(x));
    await deploy(h.ctx, h.opts());
    expect(planned).toEqual(await h.steps());
    expect(planned).toEqual([
      ...INSTALL_AND_SWITCH.slice(0, -2),
      "pre_switch hook",
      ...INSTALL_AND_SWITCH.slice(-2),
      "drain + stop old",
    ]);
  });

  it("the next deploy goes to green, drains blue and stops it; pip is skipped for the same requirements", async () => {
    const h = await blueLive();
    const out = await deploy(h.ctx, h.opts());
    expect(out).toMatchObject({
      outcome: "deployed",
      from: { color: "blue" },
      to: { color: "green", sha: sha("b") },
    });
    expect(h.host.served).toEqual({ color: "green", sha: sha("b") });
    expect(h.stopped()).toEqual(["demo-api@blue.service demo-web@blue.service"]);
    expect((await h.state()).previous).toEqual({ color: "blue", sha: sha("a") });
    // a second deploy of the same tip is a no-op that starts nothing
    h.run.calls.length = 0;
    expect(await deploy(h.ctx, h.opts())).toMatchObject({ outcome: "unchanged" });
    expect(h.run.calls.filter((c) => c.file === "systemctl" && c.args[0] === "restart")).toEqual([]);
    // back to blue, whose venv has these requirements: no pip step; nginx stops falling back to blue first
    h.remote.tip = sha("c");
    await deploy(h.ctx, h.opts());
    const ran = await h.steps();
    // the two run together, recorded as each ends
    expect(ran.slice(2, 4).sort()).toEqual(["checkout", "end fallback"]);
    const noPip = INSTALL_AND_SWITCH.filter((x) => x !== "checkout" && x !== "pip install");
    expect([...ran.slice(0, 2), ...ran.slice(4)]).toEqual([...noPip, "drain + stop old"]);
    expect(h.host.served).toEqual({ color: "blue", sha: sha("c") });
  });

  it("the switch is armed while the gate runs: nginx serves green by its flag, then runs the plain include; the flag is gone", async () => {
    const h = await blueLive();
    // what nginx had loaded when it first answered green
    let firstGreen: { loaded: string | undefined; armed: boolean } | null = null;
    const get = h.ctx.get;
    const ctx: Context = {
      ...h.ctx,
      get: async (url, o) => {
        const r = await get(url, o);
        if (!firstGreen && url.endsWith("/__rf-agent/live") && r.body.includes('"green"'))
          firstGreen = { loaded: h.host.served?.color, armed: h.host.armed !== null };
        return r;
      },
    };
    expect(await deploy(ctx, h.opts())).toMatchObject({ outcome: "deployed", to: { color: "green" } });
    expect(firstGreen).toEqual({ loaded: "blue", armed: true });
    expect(h.host.served).toEqual({ color: "green", sha: sha("b") });
    expect(h.host.armed).toBeNull();
    const include = await readFile(h.ctx.layout.liveIncludePath, "utf8");
    expect(parseArmedSwitch(include)).toBeNull();
    expect(parseLiveInclude(include)).toEqual({ color: "green", sha: sha("b"), fallback: true });
    expect(await readdir(h.ctx.layout.armedFlagsDir)).toEqual([]);
  });

  const failures: { fault: Fault; step: string; code: string; stopsIdle: boolean }[] = [
    { fault: "fetch", step: "fetch", code: "GIT", stopsIdle: false },
    { fault: "checkout", step: "checkout", code: "GIT", stopsIdle: true },
    { fault: "pip", step: "pip install", code: "PIP", stopsIdle: true },
    { fault: "ports", step: "ports", code: "PORT_BUSY", stopsIdle: true },
    { fault: "start", step: "start", code: "SYSTEMD", stopsIdle: true },
    { fault: "hook", step: "pre_switch hook", code: "HOOK", stopsIdle: true },
    { fault: "nginx -t", step: "switch nginx", code: "NGINX", stopsIdle: true },
  ];
  for (const f of failures) {
    it(`a failure at "${f.step}" ends the run there, ${f.stopsIdle ? "stops green" : "starts nothing"}, and blue serves on`, async () => {
      const h = await blueLive({ patch: (c) => (c.hooks.preSwitch = "python migrate.py") });
      h.faults.add(f.fault);
      const e = await failureOf(deploy(h.ctx, h.opts()));
      expect(e.code, e.message).toBe(f.code);
      const ran = await h.steps();
      expect(ran.at(-1)).toBe(f.step);
      expect(ran.slice(0, -1)).not.toContain(f.step);
      expect(h.host.served).toEqual({ color: "blue", sha: sha("a") });
      expect(h.stopped()).toEqual(f.stopsIdle ? ["demo-api@green.service demo-web@green.service"] : []);
      expect((await h.state()).live).toMatchObject({ color: "blue", sha: sha("a") });
      const [entry] = (await readHistory(h.ctx.layout.stateDir)).slice(-1);
      expect(entry).toMatchObject({ outcome: "failed", from: { color: "blue", sha: sha("a") } });
    });
  }

  it('a failure at "required env" comes before the checkout: green\'s code is as it was, its fetch told no', async () => {
    const h = await blueLive();
    const greenHead = () => readFile(`${h.ctx.layout.checkout("green")}/.git/HEAD`, "utf8").catch(() => "");
    const before = await greenHead();
    h.ctx.config.app.requiredEnv = ["DATABASE_URL"];
    const e = await failureOf(deploy(h.ctx, h.opts()));
    expect(e.code, e.message).toBe("ENV");
    expect(await h.steps()).toEqual(["fetch", "required env"]);
    // The fetch's unit found the commit but was never told to check it out.
    expect((await greenHead()).includes(sha("b"))).toBe(false);
    expect((await greenHead()).replace(before, "")).toBe("ref: refs/heads/main\n");
    expect(h.host.served).toEqual({ color: "blue", sha: sha("a") });
    expect(h.stopped()).toEqual([]);
  });

  it("a release that fails its health check never goes live (exit 1), green is stopped", async () => {
    const h = await blueLive({ patch: (c) => (c.health.timeoutSec = 3) });
    h.host.healthy.green = false;
    const e = await failureOf(deploy(h.ctx, h.opts()));
    expect(e).toMatchObject({ code: "HEALTH", exitCode: 1 });
    expect((await h.steps()).at(-1)).toBe("health");
    expect(h.host.served).toEqual({ color: "blue", sha: sha("a") });
    // the switch armed during the gate is undone: nginx runs the plain include for blue
    expect(h.host.armed).toBeNull();
    expect(await readFile(h.ctx.layout.liveIncludePath, "utf8")).not.toMatch(/if \(-f/);
    expect(h.stopped()).toEqual(["demo-api@green.service demo-web@green.service"]);
  });

  it("a release that fails after the switch is switched back (exit 3): blue serves, green drained and stopped", async () => {
    const h = await blueLive();
    // healthy for the gate (0.5 s at one answer every 0.1 s: 6 answers), then not: the watch sees it
    let asked = 0;
    const get = h.ctx.get;
    const ctx: Context = {
      ...h.ctx,
      get: (url, o) =>
        url.includes(":8001/") && ++asked > 6 ? Promise.resolve({ status: 503, body: "" }) : get(url, o),
    };
    const e = await failureOf(deploy(ctx, h.opts()));
    expect(e).toMatchObject({ code: "ROLLED_BACK", exitCode: 3 });
    expect(await h.steps()).toEqual([...INSTALL_AND_SWITCH, "switch back", "stop failed color"]);
    expect(h.host.served).toEqual({ color: "blue", sha: sha("a") });
    expect(h.host.fallback).toBe(false);
    expect(h.stopped()).toEqual(["demo-api@green.service demo-web@green.service"]);
    const [entry] = (await readHistory(h.ctx.layout.stateDir)).slice(-1);
    expect(entry).toMatchObject({
      outcome: "rolled-back",
      exitCode: 3,
      to: { color: "green", sha: sha("b") },
    });
  });

  it("deploy --no-switch stages green behind the preview; switch then puts it live through its own plan", async () => {
    const h = await blueLive({ patch: (c) => (c.nginx.previewListen = "127.0.0.1:8080") });
    const staged = await deploy(h.ctx, h.opts({ noSwitch: true }));
    expect(staged).toMatchObject({ outcome: "staged", to: { color: "green", sha: sha("b") } });
    expect((await h.steps()).slice(-2)).toEqual(["health", "preview"]);
    expect(h.host.served).toEqual({ color: "blue", sha: sha("a") });
    expect((await h.state()).staged).toEqual({ color: "green", sha: sha("b") });
    const out = await switchStaged(h.ctx, { waitSec: 0, print: () => undefined });
    expect(out).toMatchObject({ outcome: "switched", to: { color: "green", sha: sha("b") } });
    // green still ran: no start, health asked again
    expect(await h.steps()).toEqual(["required env", "health", "switch nginx", "watch", "drain + stop old"]);
    expect(h.host.served).toEqual({ color: "green", sha: sha("b") });
    expect((await h.state()).staged).toBeNull();
  });

  it("rollback after a deploy brings the stopped blue up again and switches to it", async () => {
    const h = await blueLive();
    await deploy(h.ctx, h.opts());
    const out = await rollback(h.ctx, { waitSec: 0, print: () => undefined });
    expect(out).toMatchObject({
      outcome: "rolled-back",
      from: { color: "green" },
      to: { color: "blue", sha: sha("a") },
    });
    expect(await h.steps()).toEqual([
      "units",
      "start",
      "health",
      "switch nginx",
      "watch",
      "drain + stop old",
    ]);
    expect(h.host.served).toEqual({ color: "blue", sha: sha("a") });
  });

  it("rollback to a warm standby is a switch: nothing is started", async () => {
    const h = await blueLive({ patch: (c) => (c.switch.standbySec = 300) });
    await deploy(h.ctx, h.opts());
    expect(h.host.active.blue).toBe(true);
    h.run.calls.length = 0;
    await rollback(h.ctx, { waitSec: 0, print: () => undefined });
    expect(await h.steps()).toEqual(["switch nginx", "watch", "drain + stop old"]);
    expect(h.run.calls.filter((c) => c.file === "systemctl" && c.args[0] === "restart")).toEqual([]);
    expect(h.host.served).toEqual({ color: "blue", sha: sha("a") });
  });
});
