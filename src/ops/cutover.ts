// The switch and everything after it, shared by deploy, rollback and switch.
import { saveState } from "../adapters/state-store.js";
import type { Color } from "../config/types.js";
import type { Context } from "../context.js";
import { RfError } from "../errors.js";
import { afterSwitch, type State } from "../core/state.js";
import { bootLiveOrWarn } from "./boot.js";
import { drain, retireColor, rolledBack, watchNewColor } from "./retire.js";
import { stopColor } from "./start.js";
import { scheduleStandbyExpiry } from "./standby.js";
import type { Steps } from "./steps.js";
import { switchTo } from "./nginx-routing.js";

export interface CutoverResult {
  state: State;
  openAtDeadline: number;
  /** ms from the start of the switch step until nginx confirmed the new color. */
  switchMs: number;
}

export async function cutover(
  ctx: Context,
  steps: Steps,
  state: State,
  to: Color,
  sha: string,
): Promise<CutoverResult> {
  const from = state.live && state.live.color !== to ? state.live : null;
  const t0 = performance.now();
  // The color left behind stays the fallback until it is stopped, so a release that falls over
  // right after the switch costs no request while the watch switches back.
  await steps.run("switch nginx", () => switchTo(ctx, to, sha, from !== null), { to });
  const switchMs = Math.round(performance.now() - t0);
  const flipAt = Date.now();
  let next: State = { ...afterSwitch(state, to, sha, ctx.now()), standby: null, staged: null };
  await saveState(ctx.layout, next);
  // Alongside the watch, so the switch and the rollback take no longer for it.
  const boot = bootLiveOrWarn(ctx, to);

  const problem =
    ctx.config.switch.watchSec > 0 ? await steps.run("watch", () => watchNewColor(ctx, to, flipAt)) : null;
  await boot;
  if (problem) {
    ctx.log.error({ color: to, reason: problem }, problem);
    if (!from) {
      throw new RfError("HEALTH", `${problem}, and there is no previous version to switch back to`, {
        hint: "fix the release and deploy again; see `journalctl -u` for its units",
      });
    }
    await steps.run("switch back", () => switchTo(ctx, from.color, from.sha, false), { to: from.color });
    next = { ...afterSwitch(next, from.color, from.sha, ctx.now()), standby: null };
    await saveState(ctx.layout, next);
    await bootLiveOrWarn(ctx, from.color);
    // Requests and websocket sessions nginx's old workers still hold on it finish first, as in a retire.
    const backAt = Date.now();
    await steps.run("stop failed color", async () => {
      await drain(ctx, to, backAt);
      await stopColor(ctx, to);
    });
    throw rolledBack(problem, from.color);
  }

  let openAtDeadline = 0;
  if (from) {
    const retired = await steps.run("drain + stop old", () => retireColor(ctx, from.color, flipAt), {
      old: from.color,
    });
    openAtDeadline = retired.open;
    if (retired.standby) {
      const until = new Date(ctx.now().getTime() + ctx.config.switch.standbySec * 1000).toISOString();
      next = { ...next, standby: { color: from.color, until } };
      await scheduleStandbyExpiry(ctx, ctx.config.switch.standbySec);
    }
  }
  await saveState(ctx.layout, next);
  return { state: next, openAtDeadline, switchMs };
}
