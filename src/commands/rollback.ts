// rf-agent rollback: the previous color takes the traffic back, instantly if it is still warm.
// The steps are core/plan.ts's planRollback; ops/execute.ts runs them.
import type { Context } from "../context.js";
import { RfError } from "../errors.js";
import type { Color } from "../config/types.js";
import { other } from "../core/layout.js";
import { planRollback } from "../core/plan.js";
import { liveRelease } from "../core/state.js";
import { execute } from "../ops/execute.js";
import { checkNginxEarly } from "../ops/nginx-routing.js";
import { ensureAppUser } from "../ops/host.js";
import { reconcile, recordedStandby } from "../ops/reconcile.js";
import { recorded, type Outcome, type RecordedRun } from "../ops/recorded.js";
import { colorRunning, quickHealthy, unitStates } from "../ops/start.js";

export interface RollbackOptions {
  to?: string;
  waitSec: number;
  print: (line: string) => void;
}

export async function rollback(ctx: Context, opts: RollbackOptions): Promise<Outcome> {
  if (opts.to) {
    // Only --to needs git and the installer: keep them out of the instant rollback's start-up.
    const { deploy } = await import("./deploy.js");
    return deploy(ctx, {
      ref: opts.to,
      force: false,
      dryRun: false,
      waitSec: opts.waitSec,
      print: opts.print,
    });
  }
  return recorded(ctx, "rollback", opts.waitSec, async (run) => {
    // What is there now and what to do about it; named in history, it comes before the plan it makes.
    // Beside prepare: the switch that follows at once then need not run its own `nginx -t`.
    const nginxCheck = checkNginxEarly(run.ctx);
    const { c, state, live, plan } = await run.steps.run("prepare", () => prepare(run));
    const done = await execute(c, run, plan, state, { nginxCheck });
    // Only a fetch ends a run early, and a rollback's plan has none.
    if (!done.done) throw new Error(`rollback found ${done.live.color} already live`);
    const { to } = done;
    opts.print(
      `rolled back to ${to.sha.slice(0, 12)} on ${to.color} (was ${live.sha.slice(0, 12)} on ${live.color})`,
    );
    return { outcome: "rolled-back", from: live, to, exitCode: 0 };
  });
}

/** Under the lock: the state reconciled, what there is to go back to, whether it is a warm standby. */
async function prepare(run: RecordedRun) {
  const c: Context = { ...run.ctx, user: await ensureAppUser(run.ctx) };
  const warmNow = (color: Color, states?: Promise<Map<string, string>>) =>
    Promise.all([colorRunning(c, color, states), quickHealthy(c, color)]).then(([up, ok]) => up && ok);
  // The recorded standby is asked about while reconcile runs (a rollback waits on both), and
  // reconcile uses the same answer from systemd. It counts only if reconcile kept that standby; if
  // it stopped or replaced it, the color is asked again.
  const guess = await recordedStandby(c);
  const states = guess ? unitStates(c, guess) : undefined;
  const early = guess ? warmNow(guess, states) : null;
  early?.catch(() => undefined);
  const state = await reconcile(c, {
    askNginx: "on-disagreement",
    ...(guess && states ? { known: { color: guess, states } } : {}),
  });
  const live = liveRelease(state);
  if (!live) {
    throw new RfError("NOTHING_TO_ROLL_BACK", "nothing is live yet, so there is nothing to roll back", {
      hint: "run `rf-agent deploy` first",
    });
  }
  run.learn(live, null);
  const color = other(live.color);
  const sha = state.slots[color]?.sha;
  if (!sha) {
    throw new RfError("NOTHING_TO_ROLL_BACK", `the ${color} slot has no previous version to roll back to`, {
      hint: "roll back to a given commit with `rf-agent rollback --to REF`",
    });
  }
  const warm = await (early && guess === color && state.standby?.color === color ? early : warmNow(color));
  if (warm) c.log.info({ color }, `${color} is running and healthy (warm standby): switching at once`);
  const plan = planRollback({ config: c.config, live, back: { color, sha }, warm });
  return { c, state, live, plan };
}
