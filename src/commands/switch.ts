// rf-agent switch: put live what `deploy --no-switch` staged, health-gated again.
import { isActive } from "../adapters/systemd.js";
import type { Context } from "../context.js";
import { RfError } from "../errors.js";
import { cutover } from "../ops/cutover.js";
import { ensureAppUser } from "../ops/host.js";
import { runPostHook, runPreSwitch } from "../ops/release-hook-steps.js";
import { reconcile } from "../ops/reconcile.js";
import { healthGate, startColor, stopColor } from "../ops/start.js";
import { recorded, type Outcome } from "../ops/recorded.js";
import { checkRequiredEnv } from "../ops/env.js";

export async function switchStaged(
  ctx: Context,
  opts: { waitSec: number; print: (line: string) => void },
): Promise<Outcome> {
  return recorded(ctx, "switch", opts.waitSec, async (run) => {
    await ensureAppUser(ctx);
    const state = await reconcile(ctx, { askNginx: "on-disagreement" });
    const staged = state.staged;
    const live = state.live ? { color: state.live.color, sha: state.live.sha } : null;
    run.from = live;
    if (!staged || staged.color === live?.color || state.slots[staged.color]?.sha !== staged.sha) {
      throw new RfError("NOTHING_STAGED", "nothing is staged to switch to", {
        hint: "install a release without switching first: rf-agent deploy --no-switch",
      });
    }
    run.to = staged;
    ctx.log = ctx.log.child({ color: staged.color, sha: staged.sha.slice(0, 12) });
    await checkRequiredEnv(ctx, staged.color);
    try {
      if (!(await isActive(ctx.run, ctx.layout.units(staged.color)[0] ?? ""))) {
        await run.steps.run("start", () => startColor(ctx, staged.color, { fresh: true }));
      }
      await run.steps.run("health", () => healthGate(ctx, staged.color));
      await runPreSwitch(ctx, run.steps, staged.color, staged.sha);
    } catch (e) {
      await stopColor(ctx, staged.color).catch(() => undefined);
      throw e;
    }
    await cutover(ctx, run.steps, state, staged.color, staged.sha);
    await runPostHook(ctx, run.steps, "post_switch", staged.color, staged.sha);
    opts.print(
      `switched to ${staged.sha.slice(0, 12)} on ${staged.color}${live ? ` (was ${live.sha.slice(0, 12)} on ${live.color})` : ""}`,
    );
    return { outcome: "switched", from: live, to: staged, exitCode: 0 };
  });
}
