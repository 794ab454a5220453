// Runs a plan of core/plan.ts, step by step, as printed: each step recorded and logged under its
// name, and a failure undone as the plan says (stop what was brought up, or switch back).
import type { Context } from "../context.js";
import { withFields } from "../context.js";
import { isRfError, RfError } from "../errors.js";
import type { Plan, PlannedStep, Release, Undo } from "../core/plan.js";
import type { State } from "../core/state.js";
import { actionFor, type RunScope } from "./actions.js";
import type { RecordedRun } from "./recorded.js";
import { stopColor } from "./start.js";
import { switchBack, WatchFailed } from "./cutover.js";
import { settleArmed } from "./armed-switch.js";
import type { NginxCheck } from "./nginx-routing.js";

export type Executed =
  /** Every step ran; `to` is the release brought up. */
  | { done: true; to: Release; scope: RunScope }
  /** The fetch found the live commit: nothing else ran. */
  | { done: false; live: Release };

/**
 * Runs `plan` in `ctx` (the run's, with the app user); `state` is what reconcile found. Throws the
 * first failure, after its undo.
 */
export async function execute(
  ctx: Context,
  run: RecordedRun,
  plan: Plan,
  state: State,
  opts: { ref?: string; force?: boolean; nginxCheck?: NginxCheck } = {},
): Promise<Executed> {
  const scope: RunScope = {
    plan,
    ctx: withFields(ctx, { color: plan.to.color, ...(plan.to.sha ? { sha: plan.to.sha.slice(0, 12) } : {}) }),
    sha: plan.to.sha,
    state,
    ...(opts.ref !== undefined ? { ref: opts.ref } : {}),
    force: opts.force ?? false,
    ...(opts.nginxCheck ? { nginxCheck: opts.nginxCheck } : {}),
    steps: run.steps,
    pending: [],
  };
  run.learn(plan.from, scope.sha ? { color: plan.to.color, sha: scope.sha } : null);
  const steps = plan.steps;
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    const together = step.alongsideNext ? [step, steps[++i]!] : [step];
    try {
      const results = await Promise.allSettled(together.map((s) => runStep(run, scope, s)));
      const failed = results.find((r) => r.status === "rejected");
      if (failed) throw (failed as PromiseRejectedResult).reason;
      if (results.some((r) => r.status === "fulfilled" && r.value === "live")) {
        await settle(scope);
        return { done: false, live: { color: plan.from!.color, sha: plan.from!.sha } };
      }
    } catch (e) {
      await settle(scope);
      const undo = together.find((s) => s.undo)?.undo;
      throw undo ? await undoStep(undo, scope, e) : e;
    }
    if (step.name === "fetch" && scope.sha) {
      run.learn(plan.from, { color: plan.to.color, sha: scope.sha });
    }
  }
  await settle(scope);
  return { done: true, to: { color: plan.to.color, sha: scope.sha! }, scope };
}

async function runStep(run: RecordedRun, scope: RunScope, step: PlannedStep): Promise<unknown> {
  const action = actionFor(step.name);
  try {
    // Filled in by the action as it runs; Steps logs them with the step's end.
    const fields: Record<string, unknown> = {};
    return await run.steps.run(step.name, () => action(scope, fields), fields, scope.ctx.log);
  } catch (e) {
    if (!step.mayFail) throw e;
    const why = isRfError(e) ? e.message : String(e);
    const hook = step.name.replace(/ hook$/, "");
    scope.ctx.log.warn({ hook, err: why }, `${hook} hook failed; the switch stands: ${why}`);
  }
}

/**
 * Work a step left running beside the next ones (boot enablement) ends before the run does; a
 * fetch's unit still waiting to check out is told no (a failure or "live" came between).
 */
async function settle(scope: RunScope): Promise<void> {
  await Promise.allSettled([...scope.pending, scope.fetched?.cancel()]);
  // A switch armed but never made (the gate failed, a hook refused): nginx's include made plain.
  if (scope.armed) {
    await scope.armed;
    await settleArmed(scope.ctx, scope.plainAt);
  }
}

/** Undoes a failed step; returns the error the run ends with. */
async function undoStep(undo: Undo, scope: RunScope, e: unknown): Promise<unknown> {
  const { ctx, plan } = scope;
  switch (undo) {
    case "stop":
      await stopColor(ctx, plan.to.color).catch(() => undefined);
      return e;
    case "stop-if-refused":
      // nginx -t refused the switch: nothing was reloaded, the new color serves nothing.
      if (isRfError(e) && e.code === "NGINX") await stopColor(ctx, plan.to.color).catch(() => undefined);
      return e;
    case "switch-back": {
      if (!(e instanceof WatchFailed)) return e;
      ctx.log.error({ color: plan.to.color, reason: e.message }, e.message);
      const from = plan.from && plan.from.color !== plan.to.color ? plan.from : null;
      if (!from) {
        return new RfError("HEALTH", `${e.message}, and there is no previous version to switch back to`, {
          hint: "fix the release and deploy again; see `journalctl -u` for its units",
        });
      }
      return switchBack(scope, from, e.message);
    }
  }
}
