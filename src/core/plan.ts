// The steps of a deploy, a rollback and a switch, decided before anything is done. `--dry-run`
// prints this list and ops/execute.ts runs exactly this list: every step is named here, and each
// name has one action in ops/actions.ts.
import type { Color, Config } from "../config/types.js";

export type StepName =
  | "fetch"
  | "required env"
  | "end fallback"
  | "checkout"
  | "pip install"
  | "units"
  | "ports"
  | "start"
  | "health"
  | "preview"
  | "pre_switch hook"
  | "switch nginx"
  | "watch"
  | "drain + stop old"
  | "post_switch hook"
  | "post_rollback hook";

/**
 * What a failure of a step undoes. `stop`: the color being brought up is stopped (the live one was
 * never touched). `stop-if-refused`: the same, when nginx refused the switch before any reload.
 * `switch-back`: nginx goes back to the color it left, and the failed one drains and stops.
 */
export type Undo = "stop" | "stop-if-refused" | "switch-back";

export interface PlannedStep {
  name: StepName;
  detail: string;
  undo?: Undo;
  /** Runs at the same time as the next step; both must succeed before the step after. */
  alongsideNext?: boolean;
  /** A failure is reported as a warning and the run goes on (post hooks: the switch stands). */
  mayFail?: boolean;
}

export interface Release {
  color: Color;
  sha: string;
}

export type Command = "deploy" | "rollback" | "switch";

export interface Plan {
  command: Command;
  /** What serves when the plan starts; null on a first deploy. */
  from: Release | null;
  /** The color brought up and its commit; a deploy's sha is null until its fetch has found it. */
  to: { color: Color; sha: string | null };
  steps: PlannedStep[];
}

const short = (sha: string | null) => (sha ? sha.slice(0, 12) : "the fetched commit");

/** Start (unless it runs already), health, pre_switch hook: a failure stops what was started. */
function bringUp(
  config: Config,
  color: Color,
  opts: { checkPorts: boolean; start: boolean; preSwitch: boolean },
): PlannedStep[] {
  const steps: PlannedStep[] = [];
  if (opts.checkPorts) {
    const ports = config.services.map((x) => `:${x.ports[color]}`).join(", ");
    steps.push({ name: "ports", detail: `${ports} free, or held by ${color}'s own units`, undo: "stop" });
  }
  if (opts.start) {
    steps.push({
      name: "start",
      detail: `restart ${config.services.map((x) => `${x.name} :${x.ports[color]}`).join(", ")}`,
      undo: "stop",
    });
  }
  const h = config.health;
  steps.push({
    name: "health",
    detail: `healthy for ${h.stableSec} s (>= ${h.successes} answers, every ${h.intervalSec} s) from ${config.services.map((x) => x.health).join(", ")} within ${h.timeoutSec} s`,
    undo: "stop",
  });
  if (opts.preSwitch && config.hooks.preSwitch) {
    steps.push({ name: "pre_switch hook", detail: config.hooks.preSwitch, undo: "stop" });
  }
  return steps;
}

/** Switch, watch, then drain the color left behind and stop it (or keep it warm). */
function cutover(
  config: Config,
  from: Release | null,
  to: Color,
  postHook: StepName,
  before: PlannedStep[],
): PlannedStep[] {
  const s = config.switch;
  const moves = from !== null && from.color !== to;
  // From one color to the other after a health gate, the switch is armed during it (ops/armed-switch.ts).
  const how =
    moves && before.some((step) => step.name === "health")
      ? "by the flag armed during health (else nginx -t, reload)"
      : "nginx -t, reload";
  const steps: PlannedStep[] = [
    {
      name: "switch nginx",
      detail: `${moves ? `${from.color} -> ` : ""}${to}, ${how}, confirm`,
      undo: "stop-if-refused",
    },
  ];
  if (s.watchSec > 0) {
    steps.push({
      name: "watch",
      detail: `health of ${to} for ${s.watchSec} s; ${from ? `failure switches back to ${from.color}` : "failure fails the run"}`,
      undo: "switch-back",
    });
  }
  if (from && from.color !== to) {
    steps.push({
      name: "drain + stop old",
      detail:
        `grace ${s.graceSec} s, then wait up to ${s.drainSec} s for connections to ${from.color} to end, then ` +
        (s.standbySec > 0 ? `keep it as warm standby for ${s.standbySec} s` : "stop it"),
    });
  }
  const hook = postHook === "post_rollback hook" ? config.hooks.postRollback : config.hooks.postSwitch;
  if (hook) steps.push({ name: postHook, detail: `${hook} (a failure is a warning)`, mayFail: true });
  return steps;
}

export interface DeployPlanInput {
  config: Config;
  live: Release | null;
  idle: Color;
  /** Known for --ref SHA, a clone or a dry run (asked of the remote); else the fetch finds it. */
  sha: string | null;
  /** Unit files the install would write differently (a dry run diffs them); null: not known. */
  changedFiles: string[] | null;
  /** nginx falls back to the idle color now (the last deploy's old color). */
  fallbackToIdle: boolean;
  /** Install, health-check and show in the preview, without switching. */
  noSwitch: boolean;
}

export function planDeploy(input: DeployPlanInput): Plan {
  const { config, idle, sha, live } = input;
  const app = config.app;
  const steps: PlannedStep[] = [
    { name: "fetch", detail: `${app.repo} into ${app.root}/${idle} (the idle color)` },
    { name: "required env", detail: "every [app] required variable set, none a placeholder" },
  ];
  if (input.fallbackToIdle) {
    steps.push({
      name: "end fallback",
      detail: `nginx stops falling back to ${idle}, before anything of this release starts there`,
      alongsideNext: true,
      undo: "stop",
    });
  }
  steps.push(
    // From here a failure stops the idle color: its code changed under whatever ran there.
    { name: "checkout", detail: `${short(sha)}, detached, forced, untracked files removed`, undo: "stop" },
    {
      name: "pip install",
      detail: `venv of ${idle} from ${app.python} (made if missing); pip install -r ${app.requirements} only if it or the interpreter changed`,
      undo: "stop",
    },
    {
      name: "units",
      detail:
        input.changedFiles === null
          ? "write what changed; daemon-reload if anything did"
          : input.changedFiles.length
            ? `write ${input.changedFiles.join(", ")}; daemon-reload`
            : "unchanged",
      undo: "stop",
    },
    ...bringUp(config, idle, { checkPorts: true, start: true, preSwitch: !input.noSwitch }),
  );
  if (input.noSwitch) {
    steps.push({
      name: "preview",
      detail: `the preview server shows ${idle}; ${live ? live.color : "nothing"} stays live`,
      undo: "stop",
    });
  } else {
    steps.push(...cutover(config, live, idle, "post_switch hook", steps));
  }
  return { command: "deploy", from: live, to: { color: idle, sha }, steps };
}

export interface RollbackPlanInput {
  config: Config;
  live: Release;
  back: Release;
  /** The previous color runs and answers its health checks: a switch is all it takes. */
  warm: boolean;
}

export function planRollback(input: RollbackPlanInput): Plan {
  const { config, live, back, warm } = input;
  const steps: PlannedStep[] = warm
    ? []
    : [
        { name: "units", detail: `write ${back.color}'s units if they changed; daemon-reload`, undo: "stop" },
        ...bringUp(config, back.color, { checkPorts: false, start: true, preSwitch: false }),
      ];
  steps.push(...cutover(config, live, back.color, "post_rollback hook", steps));
  return { command: "rollback", from: live, to: back, steps };
}

export interface SwitchPlanInput {
  config: Config;
  live: Release | null;
  staged: Release;
  /** The staged color's units run already (as deploy --no-switch left them). */
  running: boolean;
}

export function planSwitch(input: SwitchPlanInput): Plan {
  const { config, live, staged, running } = input;
  const steps: PlannedStep[] = [
    { name: "required env", detail: "every [app] required variable set, none a placeholder" },
    ...bringUp(config, staged.color, { checkPorts: false, start: !running, preSwitch: true }),
  ];
  steps.push(...cutover(config, live, staged.color, "post_switch hook", steps));
  return { command: "switch", from: live, to: staged, steps };
}

export function formatPlan(plan: Plan): string {
  const width = Math.max(...plan.steps.map((s) => s.name.length));
  return plan.steps
    .map((s, i) => {
      const along = plan.steps[i - 1]?.alongsideNext ? " (alongside the step before)" : "";
      return `${String(i + 1).padStart(2)}. ${s.name.padEnd(width)}  ${s.detail}${along}`;
    })
    .join("\n");
}
