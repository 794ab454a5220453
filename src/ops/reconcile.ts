// Start of every run: make state agree with the host, finish or undo a switch a killed run left
// half done, and stop a warm standby whose time is up.
import { readLiveInclude } from "../adapters/live-include.js";
import { headSha } from "../adapters/git.js";
import { loadState, saveState } from "../adapters/state-store.js";
import { activeStates, status as unitStatus } from "../adapters/systemd.js";
import { COLORS, type Color } from "../config/types.js";
import type { Context } from "../context.js";
import { other } from "../core/layout.js";
import type { State } from "../core/state.js";
import { bootLiveOrWarn } from "./boot.js";
import { gitUserIfAny } from "./host.js";
import { drain } from "./retire.js";
import { quickHealthy, stopColor } from "./start.js";
import { servedByNginx, switchTo } from "./nginx-routing.js";
import { settleArmed } from "./armed-switch.js";

function loadHostState(ctx: Context): Promise<{ state: State; rebuilt: boolean }> {
  const host = { slotSha: (c: Color) => headSha(ctx.layout.checkout(c), gitUserIfAny(ctx)), now: ctx.now };
  return loadState(ctx.layout, host, ctx.log);
}

/** The color the state file records as a warm standby, as it stands before any reconcile. */
export async function recordedStandby(ctx: Context): Promise<Color | null> {
  return (await loadHostState(ctx)).state.standby?.color ?? null;
}

/**
 * The state as saved, less a standby that no longer runs (after a reboot): for status and reports.
 * `known`: the ActiveState of the units, when the caller has asked systemd already (status).
 */
export async function readState(
  ctx: Context,
  known?: Promise<Map<string, string> | undefined>,
): Promise<State> {
  const state = (await loadHostState(ctx)).state;
  return state.standby && !(await standbyRuns(ctx, state.standby.color, known))
    ? { ...state, standby: null }
    : state;
}

export interface ReconcileOptions {
  /**
   * "always" asks nginx what it serves on every run (the reconcile command: a repair, thorough).
   * "on-disagreement" asks only when the live include and the state file disagree, or the state
   * file had to be rebuilt. A switch writes the include before its reload and saves the state only
   * after nginx is confirmed serving it, so a run killed mid-switch always leaves the two
   * disagreeing; when they agree there is nothing to finish, and a deploy need not load its HTTP
   * client (~100 ms of CPU) before the fetch.
   */
  askNginx?: "always" | "on-disagreement";
  /** The ActiveState of one color's units, already asked of systemd by the caller (a rollback). */
  known?: { color: Color; states: Promise<Map<string, string> | undefined> };
}

export async function reconcile(ctx: Context, opts: ReconcileOptions = {}): Promise<State> {
  // A switch a stopped run armed: made plain first, for the route its flag gives.
  await settleArmed(ctx);
  const read = await loadHostState(ctx);
  let state = read.state;
  const onDisk = (await readLiveInclude(ctx.layout))?.route ?? null;
  const agree =
    !read.rebuilt && onDisk !== null && state.live?.color === onDisk.color && state.live.sha === onDisk.sha;
  if (onDisk && (opts.askNginx !== "on-disagreement" || !agree)) {
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
  const live = (await readLiveInclude(ctx.layout))?.route ?? null;
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
    const sha = await headSha(ctx.layout.checkout(c), gitUserIfAny(ctx));
    if (sha && state.slots[c]?.sha !== sha) state.slots[c] = { sha, installedAt: ctx.now().toISOString() };
  }
  state = await expireStandby(ctx, state, opts.known);
  await stopLeftover(ctx, state);
  // Converges what starts at boot, for a host an older rf-agent (or a failed enable) left behind.
  if (state.live) await bootLiveOrWarn(ctx, state.live.color);
  await saveState(ctx.layout, state);
  return state;
}

export async function expireStandby(
  ctx: Context,
  state: State,
  known?: ReconcileOptions["known"],
): Promise<State> {
  const sb = state.standby;
  if (!sb) return state;
  if (state.live?.color === sb.color) return { ...state, standby: null };
  if (new Date(sb.until).getTime() > ctx.now().getTime()) {
    if (await standbyRuns(ctx, sb.color, known?.color === sb.color ? known.states : undefined)) return state;
    // Nothing restarts it: it is not enabled, and its expiry timer was transient.
    ctx.log.info({ color: sb.color }, `the warm standby of ${sb.color} no longer runs (the host rebooted?)`);
    return { ...state, standby: null };
  }
  ctx.log.info({ color: sb.color }, `warm standby of ${sb.color} expired: stopping it`);
  // Stopping is idempotent; every unit of the color, whichever is still up.
  await stopColor(ctx, sb.color);
  return { ...state, standby: null };
}

const RUNNING = new Set(["active", "activating", "reloading", "deactivating"]);

/**
 * Whether any unit of a recorded standby still runs (one `systemctl show`). After a reboot none
 * does; when systemd gives no answer the record is kept, as before.
 */
async function standbyRuns(
  ctx: Context,
  color: Color,
  known?: Promise<Map<string, string> | undefined>,
): Promise<boolean> {
  const units = ctx.layout.units(color);
  const states = (await known) ?? (await activeStates(ctx.run, units));
  if (!units.every((u) => states.has(u))) return true;
  return units.some((u) => RUNNING.has(states.get(u) ?? ""));
}

/**
 * Besides the live color, only a warm standby (or a staged release) may run. Anything else was left by
 * a run killed after its switch (before it retired the old color) or while starting the new one: its
 * open connections drain, then it stops.
 */
export async function stopLeftover(ctx: Context, state: State): Promise<void> {
  if (!state.live) return;
  const color = other(state.live.color);
  if (state.standby?.color === color || state.staged?.color === color) return;
  const units = ctx.layout.units(color);
  const states = await Promise.all(units.map((u) => unitStatus(ctx.run, u)));
  const running = units.filter((_, i) => RUNNING.has(states[i]?.activeState ?? ""));
  if (running.length === 0) return;
  ctx.log.warn(
    { color, units: running },
    `the ${color} color runs but neither serves nor stands by (a previous run was stopped before it finished): draining and stopping it`,
  );
  const open = await drain(ctx, color, ctx.now().getTime());
  if (open > 0)
    ctx.log.warn(
      { color, open },
      `${open} connections to the ${color} color were still open at the drain deadline`,
    );
  await stopColor(ctx, color);
}
