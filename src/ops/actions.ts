// What each step of core/plan.ts does: one action per step name, and what the steps of one run
// learn and hand on (the commit the fetch found, the requirements the checkout read).
import type { Fetched } from "../adapters/git.js";
import { saveState } from "../adapters/state-store.js";
import type { Context } from "../context.js";
import type { Plan, StepName } from "../core/plan.js";
import type { State } from "../core/state.js";
import type { ArmedSwitch } from "../core/render.js";
import { armSwitch } from "./armed-switch.js";
import { drainOld, leaving, switchNginx, watch } from "./cutover.js";
import { checkRequiredEnv } from "./env.js";
import { checkNginxEarly, dropFallback, showInPreview, type NginxCheck } from "./nginx-routing.js";
import { checkoutRelease, fetchRelease, installRequirements, installUnits } from "./release.js";
import { runHook } from "./release-hooks.js";
import { checkPorts, healthGate, startColor } from "./start.js";
import type { SKIPPED, Steps } from "./steps.js";

export interface RunScope {
  readonly plan: Plan;
  /** Logs with the run's id, the color and, once known, the commit. */
  ctx: Context;
  /** The commit brought up; a deploy learns it from its fetch. */
  sha: string | null;
  /** What rf-agent remembers, as the steps so far left it. */
  state: State;
  /** deploy --ref and --force. */
  readonly ref?: string;
  readonly force: boolean;
  readonly steps: Steps;
  /** Work started by a step that the run waits for before it ends (boot enablement). */
  readonly pending: Promise<unknown>[];
  python?: Promise<string>;
  requirements?: string;
  /** The fetch's unit, waiting to check out what it found; ended (cancelled) when the run ends. */
  fetched?: Fetched;
  /** The switch armed during the health gate; null when it could not be. */
  armed?: Promise<ArmedSwitch | null>;
  /** When nginx was seen running the plain include after an armed switch (ctx.now() ms). */
  plainAt?: number;
  /** `nginx -t` asked ahead of the switch (a rollback's prepare, the health gate). */
  nginxCheck?: NginxCheck;
  /** When nginx confirmed the switch (ctx.now() ms). */
  flipAt?: number;
  /** Connections to the old color still open at the drain deadline. */
  openAtDeadline?: number;
}

/**
 * "live": the fetch found the live commit, nothing more to do; SKIPPED: the step had nothing to do.
 * `fields`: what the action learned for its step's log line (the health step's firstHealthy).
 */
export type Action = (
  scope: RunScope,
  fields: Record<string, unknown>,
) => Promise<void | "live" | typeof SKIPPED>;

const color = (s: RunScope) => s.plan.to.color;
const sha = (s: RunScope) => s.sha!;

const ACTIONS: Record<StepName, Action> = {
  fetch: fetchRelease,
  "required env": async (s) => {
    await checkRequiredEnv(s.ctx, color(s));
  },
  "end fallback": async (s) => {
    if (await dropFallback(s.ctx))
      s.ctx.log.info({ color: color(s) }, `nginx no longer falls back to ${color(s)}`);
  },
  checkout: checkoutRelease,
  "pip install": installRequirements,
  units: installUnits,
  ports: (s) => checkPorts(s.ctx, color(s)),
  start: (s) => startColor(s.ctx, color(s), { fresh: true }),
  health: async (s, fields) => {
    // While the gate waits on the app: the switch armed (ops/armed-switch.ts), or else `nginx -t`
    // asked, which the switch after it then skips.
    if (s.plan.steps.some((step) => step.name === "switch nginx")) {
      const to = { color: color(s), sha: sha(s), fallback: leaving(s) !== null };
      s.armed ??= armSwitch(s.ctx, to).then((armed) => {
        if (!armed) s.nginxCheck ??= checkNginxEarly(s.ctx);
        return armed;
      });
    }
    // The app's own start-to-first-healthy, per service, for the step's log line.
    const justStarted = s.plan.steps.some((step) => step.name === "start");
    fields.firstHealthy = (await healthGate(s.ctx, color(s), justStarted)).firstHealthyMs;
  },
  preview: async (s) => {
    await showInPreview(s.ctx, color(s), sha(s));
    s.state = { ...s.state, staged: { color: color(s), sha: sha(s) } };
    await saveState(s.ctx.layout, s.state);
  },
  "pre_switch hook": async (s) => {
    await runHook(s.ctx, "pre_switch", color(s), sha(s));
  },
  "switch nginx": switchNginx,
  watch,
  "drain + stop old": drainOld,
  "post_switch hook": async (s) => {
    await runHook(s.ctx, "post_switch", color(s), sha(s));
  },
  "post_rollback hook": async (s) => {
    await runHook(s.ctx, "post_rollback", color(s), sha(s));
  },
};

export function actionFor(step: StepName): Action {
  return ACTIONS[step];
}
