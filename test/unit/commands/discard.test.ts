// rf-agent discard on a pretend host (helpers/host.ts): nginx, systemd and the services are fakes.
import { readFile } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readHistory } from "../../../src/adapters/history.js";
import { saveState } from "../../../src/adapters/state-store.js";
import { discard, discardTarget } from "../../../src/commands/discard.js";
import { withLock } from "../../../src/ops/recorded.js";
import type { Context } from "../../../src/context.js";
import { parseLiveInclude } from "../../../src/core/render.js";
import { emptyState, type State } from "../../../src/core/state.js";
import { isRfError } from "../../../src/errors.js";
import { sha } from "../helpers/config.js";
import { tempDir, type FakeRunner } from "../helpers/fakes.js";
import { fakeHost, hostModel, writeInclude, type HostModel } from "../helpers/host.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

function blueLive(over: Partial<State> = {}): State {
  return {
    ...emptyState("demo"),
    live: { color: "blue", sha: sha("a"), since: "2026-01-01T00:00:00.000Z" },
    previous: { color: "green", sha: sha("0") },
    slots: { blue: { sha: sha("a"), installedAt: "x" }, green: { sha: sha("b"), installedAt: "x" } },
    ...over,
  };
}

/** Blue live and served, green running: staged or standing by as `state` says. */
async function host(state: State) {
  const model: HostModel = hostModel({
    served: { color: "blue", sha: sha("a") },
    active: { blue: true, green: true },
  });
  const h = await fakeHost(dir, model, { patch: (c) => (c.nginx.previewListen = "127.0.0.1:8081") });
  await writeInclude(h.ctx, "blue", sha("a"));
  await saveState(h.ctx.layout, state);
  const printed: string[] = [];
  const run = (ctx: Context = h.ctx) => discard(ctx, { waitSec: 0, print: (l) => printed.push(l) });
  return { ...h, model, printed, discard: run };
}

const saved = async (ctx: Context) => JSON.parse(await readFile(ctx.layout.statePath, "utf8")) as State;
const preview = async (ctx: Context) => {
  const p = parseLiveInclude(await readFile(ctx.layout.previewIncludePath, "utf8"));
  return p && { color: p.color, sha: p.sha };
};
const stops = (run: FakeRunner) =>
  run.calls.filter((c) => c.file === "systemctl" && c.args[0] === "stop").map((c) => c.args.slice(1));

describe("discardTarget", () => {
  it("is the staged release, else a standby, and never the live color", () => {
    const staged = blueLive({ staged: { color: "green", sha: sha("b") } });
    expect(discardTarget(staged)).toEqual({ kind: "staged", color: "green", sha: sha("b") });
    const standby = blueLive({ standby: { color: "green", until: "2999-01-01T00:00:00.000Z" } });
    expect(discardTarget(standby)).toEqual({ kind: "standby", color: "green", sha: sha("b") });
    expect(discardTarget(blueLive())).toBeNull();
    expect(discardTarget(blueLive({ staged: { color: "blue", sha: sha("a") } }))).toBeNull();
    expect(discardTarget(emptyState("demo"))).toBeNull();
  });
});

describe("discard", () => {
  it("stops a staged release, points the preview at live, forgets it, and records it", async () => {
    const h = await host(blueLive({ staged: { color: "green", sha: sha("b") } }));
    const outcome = await h.discard();
    expect(outcome).toEqual({
      outcome: "discarded",
      from: { color: "green", sha: sha("b") },
      to: { color: "blue", sha: sha("a") },
      exitCode: 0,
    });
    expect(stops(h.run)).toEqual([["demo-api@green.service", "demo-web@green.service"]]);
    expect(h.model.active).toEqual({ blue: true, green: false });
    expect(await preview(h.ctx)).toEqual({ color: "blue", sha: sha("a") });
    // the preview change went through nginx -t and a reload; live is untouched
    expect(h.run.calls.some((c) => c.file === "nginx")).toBe(true);
    expect(h.model.served).toEqual({ color: "blue", sha: sha("a") });
    const state = await saved(h.ctx);
    expect(state.staged).toBeNull();
    expect(state.live).toMatchObject({ color: "blue", sha: sha("a") });
    const [entry] = await readHistory(h.ctx.layout.stateDir);
    expect(entry).toMatchObject({ command: "discard", outcome: "discarded", exitCode: 0 });
    // the preview left the staged color before it stopped
    expect(entry?.steps.map((s) => s.step)).toEqual(["preview", "stop"]);
    const reloadAt = h.run.calls.findIndex((c) => c.args.includes("--signal=HUP"));
    const stopAt = h.run.calls.findIndex((c) => c.args[0] === "stop");
    expect(reloadAt).toBeGreaterThanOrEqual(0);
    expect(reloadAt).toBeLessThan(stopAt);
    expect(h.printed).toEqual([
      `discarded the staged release ${sha("b").slice(0, 12)} on green: stopped; live stays ${sha("a").slice(0, 12)} on blue`,
    ]);
  });

  it("stops a warm standby and its expiry timer", async () => {
    const h = await host(blueLive({ standby: { color: "green", until: "2999-01-01T00:00:00.000Z" } }));
    const outcome = await h.discard();
    expect(outcome.outcome).toBe("discarded");
    expect(stops(h.run)).toContainEqual(["demo-api@green.service", "demo-web@green.service"]);
    expect(stops(h.run)).toContainEqual([
      "rf-agent-demo-standby-expiry.timer",
      "rf-agent-demo-standby-expiry.service",
    ]);
    expect(h.model.active.green).toBe(false);
    expect((await saved(h.ctx)).standby).toBeNull();
    expect(h.printed[0]).toContain("discarded the warm standby");
  });

  it("is idempotent: with nothing staged it says so, exits 0 and touches nothing", async () => {
    const h = await host(blueLive({ staged: { color: "green", sha: sha("b") } }));
    await h.discard();
    const callsBefore = h.run.calls.length;
    const again = await h.discard();
    expect(again).toMatchObject({ outcome: "unchanged", exitCode: 0 });
    expect(h.printed.at(-1)).toBe("nothing is staged and no warm standby runs: nothing to discard");
    const after = h.run.calls.slice(callsBefore);
    expect(after.filter((c) => c.file === "nginx" || c.args[0] === "stop")).toEqual([]);
    expect((await readHistory(h.ctx.layout.stateDir)).map((e) => e.outcome)).toEqual([
      "discarded",
      "unchanged",
    ]);
  });

  it("holds the app lock: while another run holds it, exit 4 and the staged color keeps running", async () => {
    const h = await host(blueLive({ staged: { color: "green", sha: sha("b") } }));
    const error = await withLock(h.ctx, "deploy", 0, () =>
      h.discard().then(
        () => null,
        (e: unknown) => e,
      ),
    );
    expect(isRfError(error) && error.exitCode).toBe(4);
    expect(h.model.active.green).toBe(true);
    expect((await saved(h.ctx)).staged).toEqual({ color: "green", sha: sha("b") });
  });
});
