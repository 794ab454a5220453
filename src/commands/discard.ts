// rf-agent discard (alias cleanup): throw away what waits beside the live color, a release staged by
// `deploy --no-switch` or a warm standby: stop it, show the live color on the preview, record it.
import type { Color } from "../config/types.js";
import type { Context } from "../context.js";
import { liveRelease, type State } from "../core/state.js";
import { reconcile } from "../ops/reconcile.js";
import { cancelStandbyExpiry } from "../ops/standby.js";
import { stopColor } from "../ops/start.js";
import { showInPreview } from "../ops/nginx-routing.js";
import { recorded, type Outcome } from "../ops/recorded.js";
import { writeState } from "../ops/state.js";

export interface DiscardTarget {
  kind: "staged" | "standby";
  color: Color;
  /** The commit that color holds, when known. */
  sha: string | null;
}

/** What a discard stops: the staged release, else the warm standby; never the live color. */
export function discardTarget(state: State): DiscardTarget | null {
  const live = state.live?.color;
  if (state.staged && state.staged.color !== live) return { kind: "staged", ...state.staged };
  if (state.standby && state.standby.color !== live) {
    const color = state.standby.color;
    return { kind: "standby", color, sha: state.slots[color]?.sha ?? null };
  }
  return null;
}

/** The state once target is stopped: neither staged nor standing by. */
export function afterDiscard(state: State, target: DiscardTarget): State {
  return {
    ...state,
    staged: state.staged?.color === target.color ? null : state.staged,
    standby: state.standby?.color === target.color ? null : state.standby,
  };
}

export async function discard(
  ctx: Context,
  opts: { waitSec: number; print: (line: string) => void },
): Promise<Outcome> {
  return recorded(ctx, "discard", opts.waitSec, async (run) => {
    const c = run.ctx;
    const state = await reconcile(c, { askNginx: "on-disagreement" });
    const live = liveRelease(state);
    run.learn(live, null);
    const target = discardTarget(state);
    // Idempotent: a second discard (or one with nothing to throw away) succeeds and says so.
    if (!target) {
      opts.print("nothing is staged and no warm standby runs: nothing to discard");
      return { outcome: "unchanged", from: live, to: live, exitCode: 0 };
    }
    const gone = target.sha ? { color: target.color, sha: target.sha } : null;
    run.learn(gone, live);
    // The preview moves first: until nginx has reloaded, its requests still find the color running.
    if (live) await run.steps.run("preview", () => showInPreview(c, live.color, live.sha));
    await run.steps.run("stop", () => stopColor(c, target.color), { color: target.color });
    if (target.kind === "standby") await cancelStandbyExpiry(c);
    await writeState(c, afterDiscard(state, target));
    const what = `the ${target.kind === "staged" ? "staged release" : "warm standby"} ${target.sha?.slice(0, 12) ?? ""} on ${target.color}`;
    opts.print(
      `discarded ${what.replace(/ +/g, " ")}: stopped` +
        (live ? `; live stays ${live.sha.slice(0, 12)} on ${live.color}` : ""),
    );
    return { outcome: "discarded", from: gone, to: live, exitCode: 0 };
  });
}
