// The plan of a deploy, decided before anything is done; `--dry-run` prints it.
import type { Color, Config } from "../config/types.js";

export interface PlanStep {
  title: string;
  detail: string;
}

export interface DeployPlanInput {
  config: Config;
  live: { color: Color; sha: string } | null;
  idle: Color;
  sha: string;
  changedFiles: string[];
  firstDeploy: boolean;
}

export function planDeploy(input: DeployPlanInput): PlanStep[] {
  const { config, idle, sha, live } = input;
  const short = sha.slice(0, 12);
  const s = config.switch;
  const steps: PlanStep[] = [];
  if (input.firstDeploy) {
    steps.push({
      title: "prepare host",
      detail: `user ${config.app.user}, ${config.app.root} owned by it, state dir`,
    });
  }
  steps.push(
    { title: "fetch", detail: `${config.app.repo} into ${config.app.root}/${idle} (the idle color)` },
    { title: "checkout", detail: `${short}, detached, forced, untracked files removed` },
    {
      title: "venv + pip",
      detail: `venv from ${config.app.python}; pip install -r ${config.app.requirements} only if it changed`,
    },
    {
      title: "units",
      detail: input.changedFiles.length
        ? `write ${input.changedFiles.join(", ")}; daemon-reload`
        : "unchanged",
    },
    {
      title: "start",
      detail: `restart ${config.services.map((x) => `${x.name} :${x.ports[idle]}`).join(", ")}`,
    },
    {
      title: "health",
      detail: `${config.health.successes} answers in a row from ${config.services.map((x) => x.health).join(", ")} within ${config.health.timeoutSec} s`,
    },
    { title: "switch nginx", detail: `${live ? `${live.color} -> ` : ""}${idle}, nginx -t, reload, confirm` },
  );
  if (s.watchSec > 0)
    steps.push({ title: "watch", detail: `health of ${idle} for ${s.watchSec} s; failure switches back` });
  if (live) {
    steps.push({
      title: "drain + stop old",
      detail:
        `grace ${s.graceSec} s, then wait up to ${s.drainSec} s for connections to ${live.color} to end, then ` +
        (s.standbySec > 0 ? `keep it as warm standby for ${s.standbySec} s` : "stop it"),
    });
  }
  return steps;
}

export function formatPlan(steps: PlanStep[]): string {
  const width = Math.max(...steps.map((s) => s.title.length));
  return steps
    .map((s, i) => `${String(i + 1).padStart(2)}. ${s.title.padEnd(width)}  ${s.detail}`)
    .join("\n");
}
