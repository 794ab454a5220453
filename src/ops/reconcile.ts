// Start of every run: make state agree with the host, finish or undo a switch a killed run left
// half done, and stop a warm standby whose time is up.
import { readIfExists } from "../adapters/files.js";
import { headSha } from "../adapters/git.js";
import { loadState, saveState } from "../adapters/state-store.js";
import { COLORS } from "../config/types.js";
import type { Context } from "../context.js";
import { other } from "../core/layout.js";
import { parseLiveInclude } from "../core/render.js";
import type { State } from "../core/state.js";
import { quickHealthy, stopColor } from "./start.js";
import { servedByNginx, switchTo } from "./switch.js";

export async function readState(ctx: Context): Promise<State> {
  return loadState(ctx.layout, { slotSha: (c) => headSha(ctx.layout.checkout(c), ctx.user) }, ctx.log);
}

export async function reconcile(ctx: Context): Promise<State> {
  let state = await readState(ctx);
  const text = await readIfExists(ctx.layout.liveIncludePath);
  const onDisk = text ? parseLiveInclude(text) : null;
  if (onDisk) {
    const served = await servedByNginx(ctx);
    if (!served || served.color !== onDisk.color || served.sha !== onDisk.sha) {
      ctx.log.warn(
        { onDisk, served },
        "nginx does not serve what its include says: a previous run stopped mid-switch",
      );
      if (await quickHealthy(ctx, onDisk.color)) {
        await switchTo(ctx, onDisk.color, onDisk.sha);
        ctx.log.info({ color: onDisk.color }, "finished the interrupted switch");
      } else if (served) {
        await switchTo(ctx, served.color, served.sha);
        ctx.log.info({ color: served.color }, "undid the interrupted switch: the new color is not healthy");
      }
    }
  }
  const nowText = await readIfExists(ctx.layout.liveIncludePath);
  const live = nowText ? parseLiveInclude(nowText) : null;
  if (live && (state.live?.color !== live.color || state.live.sha !== live.sha)) {
    ctx.log.warn({ state: state.live, nginx: live }, "state disagreed with nginx; nginx wins");
    const prevSha = state.slots[other(live.color)]?.sha ?? null;
    state = {
      ...state,
      live: { ...live, since: ctx.now().toISOString() },
      previous: prevSha ? { color: other(live.color), sha: prevSha } : null,
    };
  }
  for (const c of COLORS) {
    const sha = await headSha(ctx.layout.checkout(c), ctx.user);
    if (sha && state.slots[c]?.sha !== sha) state.slots[c] = { sha, installedAt: ctx.now().toISOString() };
  }
  state = await expireStandby(ctx, state);
  await saveState(ctx.layout, state);
  return state;
}

export async function expireStandby(ctx: Context, state: State): Promise<State> {
  const sb = state.standby;
  if (!sb) return state;
  if (state.live?.color === sb.color) return { ...state, standby: null };
  if (new Date(sb.until).getTime() > ctx.now().getTime()) return state;
  ctx.log.info({ color: sb.color }, `warm standby of ${sb.color} expired: stopping it`);
  // Stopping is idempotent; every unit of the color, whichever is still up.
  await stopColor(ctx, sb.color);
  return { ...state, standby: null };
}
