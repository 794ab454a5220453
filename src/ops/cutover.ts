// The switch and everything after it, the same for deploy, rollback and switch: the steps
// "switch nginx", "watch" and "drain + stop old" of core/plan.ts, and the switch back a failed
// watch undoes them with.
import { saveState } from "../adapters/state-store.js";
import { RfError } from "../errors.js";
import type { Release } from "../core/plan.js";
import { afterSwitch } from "../core/state.js";
import type { RunScope } from "./actions.js";
import { bootLiveOrWarn } from "./boot.js";
import { drain, retireColor, rolledBack, watchNewColor } from "./retire.js";
import { stopColor } from "./start.js";
import { scheduleStandbyExpiry } from "./standby.js";
import { switchTo } from "./nginx-routing.js";
import { afterArmedSwitch, switchArmed } from "./armed-switch.js";

/** The color nginx leaves, when it is another one: it stays nginx's fallback until it stops. */
export function leaving(scope: RunScope): Release | null {
  const from = scope.plan.from;
  return from && from.color !== scope.plan.to.color ? from : null;
}

export async function switchNginx(scope: RunScope): Promise<void> {
  const { ctx } = scope;
  const to = scope.plan.to.color;
  const sha = scope.sha!;
  // The color left behind stays the fallback until it is stopped, so a release that falls over
  // right after the switch costs no request while the watch switches back.
  const armed = await scope.armed;
  if (armed && (await switchArmed(ctx, armed))) {
    scope.pending.push(afterArmedSwitch(ctx).then((at) => (scope.plainAt = at)));
  } else await switchTo(ctx, to, sha, leaving(scope) !== null, scope.nginxCheck);
  scope.flipAt = ctx.now().getTime();
  scope.state = { ...afterSwitch(scope.state, to, sha, ctx.now()), standby: null, staged: null };
  await saveState(ctx.layout, scope.state);
  // Alongside the watch, so the switch and the rollback take no longer for it.
  scope.pending.push(bootLiveOrWarn(ctx, to));
}

/** The watch saw the new color fail after the switch; the plan's undo switches back. */
export class WatchFailed extends Error {}

export async function watch(scope: RunScope): Promise<void> {
  const problem = await watchNewColor(
    scope.ctx,
    scope.plan.to.color,
    scope.flipAt ?? scope.ctx.now().getTime(),
  );
  if (problem) throw new WatchFailed(problem);
}

export async function drainOld(scope: RunScope): Promise<void> {
  const { ctx } = scope;
  const from = leaving(scope);
  if (!from) return;
  const retired = await retireColor(ctx, from.color, scope.flipAt ?? ctx.now().getTime());
  scope.openAtDeadline = retired.open;
  if (retired.standby) {
    const until = new Date(ctx.now().getTime() + ctx.config.switch.standbySec * 1000).toISOString();
    scope.state = { ...scope.state, standby: { color: from.color, until } };
    await scheduleStandbyExpiry(ctx, ctx.config.switch.standbySec);
  }
  await saveState(ctx.layout, scope.state);
}

/** After a failed watch: nginx back to `from` (still running), the failed color drained and stopped. */
export async function switchBack(scope: RunScope, from: Release, problem: string): Promise<RfError> {
  const { ctx, steps } = scope;
  const failed = scope.plan.to.color;
  await Promise.allSettled(scope.pending);
  await steps.run(
    "switch back",
    () => switchTo(ctx, from.color, from.sha, false),
    { to: from.color },
    ctx.log,
  );
  scope.state = { ...afterSwitch(scope.state, from.color, from.sha, ctx.now()), standby: null };
  await saveState(ctx.layout, scope.state);
  await bootLiveOrWarn(ctx, from.color);
  // Requests and websocket sessions nginx's old workers still hold on it finish first, as in a retire.
  const backAt = ctx.now().getTime();
  await steps.run(
    "stop failed color",
    async () => {
      await drain(ctx, failed, backAt);
      await stopColor(ctx, failed);
    },
    {},
    ctx.log,
  );
  return rolledBack(problem, from.color);
}
