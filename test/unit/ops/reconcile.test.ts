// reconcile against a host in a temp dir: no checkouts (so no git), nginx faked as in switch.test.ts.
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { saveState } from "../../../src/adapters/state-store.js";
import type { Color } from "../../../src/config/types.js";
import type { Context } from "../../../src/context.js";
import { parseLiveInclude, renderLiveInclude } from "../../../src/core/render.js";
import { emptyState, type State } from "../../../src/core/state.js";
import { expireStandby, readState, reconcile } from "../../../src/ops/reconcile.js";
import { sha } from "../helpers/config.js";
import { type fakeRunner, tempDir } from "../helpers/fakes.js";
import { enabledUnits, fakeHost, hostModel, writeInclude, type HostModel } from "../helpers/host.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

const included = async (ctx: Context) => {
  const p = parseLiveInclude(await readFile(ctx.layout.liveIncludePath, "utf8"));
  return p && { color: p.color, sha: p.sha };
};
const saved = async (ctx: Context) => JSON.parse(await readFile(ctx.layout.statePath, "utf8")) as State;

describe("reconcile", () => {
  it("on a fresh host saves an empty state and asks nginx nothing", async () => {
    const { ctx, get, run } = await fakeHost(dir, hostModel());
    const state = await reconcile(ctx);
    expect(state).toEqual(emptyState("demo"));
    expect(await saved(ctx)).toEqual(state);
    expect(get.calls).toHaveLength(0);
    expect(run.calls).toHaveLength(0);
  });

  it("lets nginx win when the state file disagrees with it", async () => {
    const { ctx, records, run } = await fakeHost(
      dir,
      hostModel({ served: { color: "green", sha: sha("b") } }),
    );
    await writeInclude(ctx, "green", sha("b"));
    const old: State = {
      ...emptyState("demo"),
      live: { color: "blue", sha: sha("a"), since: "2025-01-01T00:00:00.000Z" },
      slots: { blue: { sha: sha("a"), installedAt: "x" }, green: null },
    };
    await saveState(ctx.layout, old);
    const state = await reconcile(ctx);
    expect(state.live).toMatchObject({ color: "green", sha: sha("b") });
    expect(state.previous).toEqual({ color: "blue", sha: sha("a") });
    expect((await saved(ctx)).live).toMatchObject({ color: "green", sha: sha("b") });
    expect(records.some((r) => r.msg === "state disagreed with nginx; nginx wins")).toBe(true);
    expect(run.calls.filter((c) => c.file === "nginx")).toHaveLength(0);
  });

  it("settles a switch a stopped run armed, by its flag: green once the flag was made, blue before", async () => {
    for (const flagged of [true, false]) {
      const host = hostModel({ served: { color: "blue", sha: sha("a") } });
      const { ctx } = await fakeHost(dir, host, { sleep: async () => undefined });
      await saveState(ctx.layout, {
        ...emptyState("demo"),
        live: { color: "blue", sha: sha("a"), since: "2025-01-01T00:00:00.000Z" },
        slots: { blue: { sha: sha("a"), installedAt: "x" }, green: null },
      });
      const flag = `${ctx.layout.armedFlagsDir}/0123456789abcdef`;
      const armed = renderLiveInclude(ctx.config, ctx.layout, "blue", sha("a"), false, {
        to: { color: "green", sha: sha("b"), fallback: true },
        token: "0123456789abcdef",
        flag,
      });
      await mkdir(ctx.layout.armedFlagsDir, { recursive: true });
      await writeFile(armed.path, armed.content);
      if (flagged) await writeFile(flag, "");
      // nginx runs the armed include (reloaded during the stopped run's health gate)
      await ctx.run("systemctl", ["reload", "nginx.service"]);
      const want = flagged ? { color: "green", sha: sha("b") } : { color: "blue", sha: sha("a") };
      const state = await reconcile(ctx);
      expect(state.live).toMatchObject(want);
      expect(await included(ctx)).toEqual(want);
      expect(await readFile(ctx.layout.liveIncludePath, "utf8")).not.toMatch(/if \(-f/);
      expect(host.armed).toBeNull();
      expect(await readdir(ctx.layout.armedFlagsDir)).toEqual([]);
      await cleanup();
      ({ dir, cleanup } = await tempDir());
    }
  });

  it("finishes a switch a killed run left half done when the new color is healthy", async () => {
    const host = hostModel({ served: { color: "blue", sha: sha("a") } });
    const { ctx, records } = await fakeHost(dir, host);
    await writeInclude(ctx, "green", sha("b"));
    const state = await reconcile(ctx);
    expect(host.served).toEqual({ color: "green", sha: sha("b") });
    expect(await included(ctx)).toEqual({ color: "green", sha: sha("b") });
    expect(state.live).toMatchObject({ color: "green", sha: sha("b") });
    expect(records.some((r) => r.msg === "finished the interrupted switch")).toBe(true);
  });

  it("undoes a half-done switch when the new color is not healthy", async () => {
    const host: HostModel = hostModel({
      served: { color: "blue", sha: sha("a") },
      healthy: { blue: true, green: false },
    });
    const { ctx, records } = await fakeHost(dir, host);
    await writeInclude(ctx, "green", sha("b"));
    const state = await reconcile(ctx);
    expect(host.served).toEqual({ color: "blue", sha: sha("a") });
    expect(await included(ctx)).toEqual({ color: "blue", sha: sha("a") });
    expect(state.live).toMatchObject({ color: "blue", sha: sha("a") });
    expect(records.some((r) => String(r.msg).startsWith("undid the interrupted switch"))).toBe(true);
  });
});

describe("reconcile, asking nginx only on disagreement (deploy, rollback, switch)", () => {
  const liveBlue: State = {
    ...emptyState("demo"),
    live: { color: "blue", sha: sha("a"), since: "2025-01-01T00:00:00.000Z" },
    slots: { blue: { sha: sha("a"), installedAt: "x" }, green: null },
  };

  it("asks nginx nothing when the include and the state agree", async () => {
    // nginx claims green here: only "always" would notice, which is the reconcile command's job.
    const { ctx, get } = await fakeHost(dir, hostModel({ served: { color: "green", sha: sha("b") } }));
    await writeInclude(ctx, "blue", sha("a"));
    await saveState(ctx.layout, liveBlue);
    const state = await reconcile(ctx, { askNginx: "on-disagreement" });
    expect(get.calls).toHaveLength(0);
    expect(state.live).toMatchObject({ color: "blue", sha: sha("a") });
  });

  it("still finishes a switch a killed run left half done: the include is ahead of the state", async () => {
    const host = hostModel({ served: { color: "blue", sha: sha("a") } });
    const { ctx, get, records } = await fakeHost(dir, host);
    await saveState(ctx.layout, liveBlue);
    await writeInclude(ctx, "green", sha("b"));
    const state = await reconcile(ctx, { askNginx: "on-disagreement" });
    expect(get.calls.length).toBeGreaterThan(0);
    expect(host.served).toEqual({ color: "green", sha: sha("b") });
    expect(state.live).toMatchObject({ color: "green", sha: sha("b") });
    expect(records.some((r) => r.msg === "finished the interrupted switch")).toBe(true);
  });

  it("asks nginx when there is no state to agree with (a lost state file)", async () => {
    const { ctx, get } = await fakeHost(dir, hostModel({ served: { color: "blue", sha: sha("a") } }));
    await writeInclude(ctx, "blue", sha("a"));
    const state = await reconcile(ctx, { askNginx: "on-disagreement" });
    expect(get.calls.length).toBeGreaterThan(0);
    expect(state.live).toMatchObject({ color: "blue", sha: sha("a") });
  });

  it("by default (the reconcile command) asks nginx even when the files agree, and repairs", async () => {
    const host = hostModel({ served: { color: "green", sha: sha("b") } });
    const { ctx, get } = await fakeHost(dir, host);
    await writeInclude(ctx, "blue", sha("a"));
    await saveState(ctx.layout, liveBlue);
    await reconcile(ctx);
    expect(get.calls.length).toBeGreaterThan(0);
    expect(host.served).toEqual({ color: "blue", sha: sha("a") });
  });
});

describe("expireStandby", () => {
  const NOW = new Date("2025-05-05T10:00:00.000Z");
  const withStandby = (color: Color, until: Date, live: Color = "green"): State => ({
    ...emptyState("demo"),
    live: { color: live, sha: sha("b"), since: NOW.toISOString() },
    standby: { color, until: until.toISOString() },
  });

  async function ctxAt(active: Record<Color, boolean>) {
    const s = await fakeHost(dir, hostModel({ active }));
    return { ...s, ctx: { ...s.ctx, now: () => NOW } };
  }

  const stops = (run: ReturnType<typeof fakeRunner>) =>
    run.calls.filter((c) => c.args[0] === "stop").map((c) => c.args.slice(1));

  it("keeps a running standby whose time is not up, only asking systemd whether it runs", async () => {
    const { ctx, run } = await ctxAt({ blue: true, green: true });
    const state = withStandby("blue", new Date(NOW.getTime() + 1000));
    expect(await expireStandby(ctx, state)).toBe(state);
    expect(run.calls.map((c) => [c.file, ...c.args].join(" "))).toEqual([
      "systemctl show --property=Id,ActiveState demo-api@blue.service demo-web@blue.service",
    ]);
  });

  it("forgets a standby that no longer runs before its time is up (the host rebooted)", async () => {
    const { ctx, run, records } = await ctxAt({ blue: false, green: true });
    const next = await expireStandby(ctx, withStandby("blue", new Date(NOW.getTime() + 60_000)));
    expect(next.standby).toBeNull();
    expect(stops(run)).toEqual([]);
    expect(records.some((r) => r.color === "blue" && String(r.msg).includes("no longer runs"))).toBe(true);
  });

  it("keeps the standby record when systemd gives no answer about its units", async () => {
    const { ctx, run } = await ctxAt({ blue: true, green: true });
    const state = withStandby("blue", new Date(NOW.getTime() + 1000));
    const silent = Object.assign(async () => ({ exitCode: 1, stdout: "", stderr: "" }), { calls: [] });
    expect(await expireStandby({ ...ctx, run: silent }, state)).toBe(state);
    expect(run.calls).toHaveLength(0);
  });

  it("stops an expired standby that still runs", async () => {
    const { ctx, run } = await ctxAt({ blue: true, green: true });
    const next = await expireStandby(ctx, withStandby("blue", new Date(NOW.getTime() - 1)));
    expect(next.standby).toBeNull();
    expect(stops(run)).toEqual([["demo-api@blue.service", "demo-web@blue.service"]]);
  });

  it("forgets an expired standby that no longer runs, stopping all its units (idempotent)", async () => {
    const { ctx, run } = await ctxAt({ blue: false, green: true });
    const next = await expireStandby(ctx, withStandby("blue", new Date(NOW.getTime() - 1)));
    expect(next.standby).toBeNull();
    expect(stops(run)).toEqual([["demo-api@blue.service", "demo-web@blue.service"]]);
  });

  it("never stops the live color, even if it is recorded as standby", async () => {
    const { ctx, run } = await ctxAt({ blue: true, green: true });
    const next = await expireStandby(ctx, withStandby("green", new Date(NOW.getTime() - 1), "green"));
    expect(next.standby).toBeNull();
    expect(run.calls).toHaveLength(0);
  });
});

describe("reconcile and boot", () => {
  const blueLiveState = (over: Partial<State> = {}): State => ({
    ...emptyState("demo"),
    live: { color: "blue", sha: sha("a"), since: "2025-01-01T00:00:00.000Z" },
    ...over,
  });

  it("enables the live color and nginx and disables the other color, in one call each", async () => {
    const host = hostModel({
      served: { color: "blue", sha: sha("a") },
      active: { blue: true, green: false },
    });
    const { ctx, run } = await fakeHost(dir, host);
    await writeInclude(ctx, "blue", sha("a"));
    await saveState(ctx.layout, blueLiveState());
    // an older run left green enabled
    await run("systemctl", ["enable", "--no-reload", "demo-api@green.service", "demo-web@green.service"]);
    run.calls.length = 0;
    await reconcile(ctx, { askNginx: "on-disagreement" });
    expect(enabledUnits(dir)).toEqual(["demo-api@blue.service", "demo-web@blue.service", "nginx.service"]);
    const boot = run.calls.filter((c) => ["enable", "disable"].includes(c.args[0] ?? ""));
    expect(boot.map((c) => [c.file, ...c.args].join(" "))).toEqual([
      "systemctl enable --no-reload demo-api@blue.service demo-web@blue.service nginx.service",
      "systemctl disable --no-reload demo-api@green.service demo-web@green.service",
    ]);
  });

  it("runs no systemctl at all when what starts at boot already agrees", async () => {
    const host = hostModel({
      served: { color: "blue", sha: sha("a") },
      active: { blue: true, green: false },
    });
    const { ctx, run } = await fakeHost(dir, host);
    await writeInclude(ctx, "blue", sha("a"));
    await saveState(ctx.layout, blueLiveState());
    await reconcile(ctx, { askNginx: "on-disagreement" });
    run.calls.length = 0;
    await reconcile(ctx, { askNginx: "on-disagreement" });
    expect(run.calls.filter((c) => ["enable", "disable"].includes(c.args[0] ?? ""))).toEqual([]);
  });

  it("after a reboot forgets the standby that did not come back and keeps it disabled", async () => {
    const host = hostModel({
      served: { color: "blue", sha: sha("a") },
      active: { blue: true, green: false },
    });
    const { ctx } = await fakeHost(dir, host);
    await writeInclude(ctx, "blue", sha("a"));
    const until = new Date(Date.now() + 600_000).toISOString();
    await saveState(ctx.layout, blueLiveState({ standby: { color: "green", until } }));
    const state = await reconcile(ctx, { askNginx: "on-disagreement" });
    expect(state.standby).toBeNull();
    expect((await saved(ctx)).standby).toBeNull();
    expect(enabledUnits(dir)).toEqual(["demo-api@blue.service", "demo-web@blue.service", "nginx.service"]);
    expect(host.active).toEqual({ blue: true, green: false });
  });

  it("readState (status) shows no standby that does not run, and saves nothing", async () => {
    const host = hostModel({ active: { blue: true, green: false } });
    const { ctx } = await fakeHost(dir, host);
    const until = new Date(Date.now() + 600_000).toISOString();
    await saveState(ctx.layout, blueLiveState({ standby: { color: "green", until } }));
    expect((await readState(ctx)).standby).toBeNull();
    expect((await saved(ctx)).standby).toEqual({ color: "green", until });
    host.active.green = true;
    expect((await readState(ctx)).standby).toEqual({ color: "green", until });
  });
});
