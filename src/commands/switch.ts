// rf-agent switch: put live what `deploy --no-switch` staged, health-gated again.
// The steps are core/plan.ts's planSwitch; ops/execute.ts runs them.
import type { Context } from "../context.js";
import { RfError } from "../errors.js";
import { planSwitch } from "../core/plan.js";
import { liveRelease } from "../core/state.js";
import { execute } from "../ops/execute.js";
import { ensureAppUser } from "../ops/host.js";
import { reconcile } from "../ops/reconcile.js";
import { recorded, type Outcome } from "../ops/recorded.js";
import { colorRunning } from "../ops/start.js";

export async function switchStaged(
  ctx: Context,
  opts: { waitSec: number; print: (line: string) => void },
): Promise<Outcome> {
  return recorded(ctx, "switch", opts.waitSec, async (run) => {
    // What is there now and what to do about it; named in history, it comes before the plan it makes.
    const { c, state, staged, live, plan } = await run.steps.run("prepare", async () => {
      const c: Context = { ...run.ctx, user: await ensureAppUser(run.ctx) };
      const state = await reconcile(c, { askNginx: "on-disagreement" });
      const staged = state.staged;
      const live = liveRelease(state);
      run.learn(live, null);
      if (!staged || staged.color === live?.color || state.slots[staged.color]?.sha !== staged.sha) {
        throw new RfError("NOTHING_STAGED", "nothing is staged to switch to", {
          hint: "install a release without switching first: rf-agent deploy --no-switch",
        });
      }
      const running = await colorRunning(c, staged.color);
      return { c, state, staged, live, plan: planSwitch({ config: c.config, live, staged, running }) };
    });
    await execute(c, run, plan, state);
    opts.print(
      `switched to ${staged.sha.slice(0, 12)} on ${staged.color}${live ? ` (was ${live.sha.slice(0, 12)} on ${live.color})` : ""}`,
    );
    return { outcome: "switched", from: live, to: staged, exitCode: 0 };
  });
}
