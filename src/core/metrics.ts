// The Prometheus node_exporter textfile: derived from the history ledger and the state, never kept apart.
import type { HistoryEntry } from "./history.js";
import type { State } from "./state.js";

function esc(v: string): string {
  return v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

export function renderMetrics(app: string, history: HistoryEntry[], state: State, now: Date): string {
  const a = `app="${esc(app)}"`;
  const lines: string[] = [];
  const metric = (name: string, help: string, type: string, samples: [string, number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`${name}{${labels}} ${value}`);
  };
  const count = (command: string) => {
    const by = new Map<string, number>();
    for (const e of history) if (e.command === command) by.set(e.outcome, (by.get(e.outcome) ?? 0) + 1);
    return [...by].map(([outcome, n]) => [`${a},outcome="${esc(outcome)}"`, n] as [string, number]);
  };
  const lastDeploy = [...history].reverse().find((e) => e.command === "deploy" && e.outcome !== "unchanged");
  if (lastDeploy) {
    metric("rf_agent_last_deploy_timestamp_seconds", "When the last deploy started.", "gauge", [
      [a, Math.round(new Date(lastDeploy.startedAt).getTime() / 1000)],
    ]);
    metric("rf_agent_last_deploy_duration_seconds", "How long the last deploy took.", "gauge", [
      [a, lastDeploy.ms / 1000],
    ]);
    metric("rf_agent_last_deploy_success", "1 if the last deploy succeeded, else 0.", "gauge", [
      [a, lastDeploy.exitCode === 0 ? 1 : 0],
    ]);
  }
  metric("rf_agent_deploys_total", "Deploys by outcome.", "counter", count("deploy"));
  metric("rf_agent_rollbacks_total", "Rollbacks by outcome.", "counter", count("rollback"));
  if (state.live) {
    metric("rf_agent_live_info", "The live color and commit.", "gauge", [
      [`${a},color="${state.live.color}",commit="${state.live.sha}"`, 1],
    ]);
  }
  const left = state.standby
    ? Math.max(0, (new Date(state.standby.until).getTime() - now.getTime()) / 1000)
    : 0;
  metric("rf_agent_standby_seconds_left", "Seconds the warm standby has left (0 = none).", "gauge", [
    [a, Math.round(left)],
  ]);
  return lines.join("\n") + "\n";
}
