// rollback and switch on a pretend host: what starts at boot follows the live color.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { saveState } from "../../../src/adapters/state-store.js";
import { rollback } from "../../../src/commands/rollback.js";
import { switchStaged } from "../../../src/commands/switch.js";
import type { Context } from "../../../src/context.js";
import { emptyState, type State } from "../../../src/core/state.js";
import { sha } from "../helpers/config.js";
import { tempDir } from "../helpers/fakes.js";
import { enabledUnits, fakeHost, hostModel, writeInclude } from "../helpers/host.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

const noSleep = async () => undefined;

/** Blue serves sha a and starts at boot; green holds sha b and runs (warm). */
async function blueLiveGreenWarm(over: Partial<State> = {}) {
  const host = hostModel({ served: { color: "blue", sha: sha("a") }, active: { blue: true, green: true } });
  const h = await fakeHost(dir, host, { sleep: noSleep, patch: (c) => (c.switch.watchSec = 0) });
  const ctx: Context = {
    ...h.ctx,
    user: { name: "demo", uid: 1000, gid: 1000, home: "/srv/demo", group: "demo" },
  };
  await writeInclude(ctx, "blue", sha("a"));
  await saveState(ctx.layout, {
    ...emptyState("demo"),
    live: { color: "blue", sha: sha("a"), since: "2025-01-01T00:00:00.000Z" },
    previous: { color: "green", sha: sha("b") },
    slots: { blue: { sha: sha("a"), installedAt: "x" }, green: { sha: sha("b"), installedAt: "x" } },
    ...over,
  });
  await h.run("systemctl", ["enable", "--no-reload", "demo-api@blue.service", "demo-web@blue.service"]);
  h.run.calls.length = 0;
  return { ...h, ctx, host };
}

const bootCalls = (calls: { file: string; args: string[] }[]) =>
  calls.filter((c) => ["enable", "disable"].includes(c.args[0] ?? "")).map((c) => c.args.join(" "));

describe("boot follows the live color", () => {
  it("rollback enables the color it goes back to and disables the one it leaves", async () => {
    const { ctx, run, host } = await blueLiveGreenWarm();
    const out = await rollback(ctx, { waitSec: 0, print: () => undefined });
    expect(out.outcome).toBe("rolled-back");
    expect(host.served).toEqual({ color: "green", sha: sha("b") });
    expect(enabledUnits(dir)).toEqual(["demo-api@green.service", "demo-web@green.service", "nginx.service"]);
    // reconcile first completes nginx's link; the switch then moves the colors
    expect(bootCalls(run.calls)).toEqual([
      "enable --no-reload nginx.service",
      "enable --no-reload demo-api@green.service demo-web@green.service",
      "disable --no-reload demo-api@blue.service demo-web@blue.service",
    ]);
  });

  it("switch puts the staged color live and makes it the one that starts at boot", async () => {
    const { ctx, host } = await blueLiveGreenWarm({ staged: { color: "green", sha: sha("b") } });
    const out = await switchStaged(ctx, { waitSec: 0, print: () => undefined });
    expect(out.outcome).toBe("switched");
    expect(host.served).toEqual({ color: "green", sha: sha("b") });
    expect(enabledUnits(dir)).toEqual(["demo-api@green.service", "demo-web@green.service", "nginx.service"]);
  });
});
