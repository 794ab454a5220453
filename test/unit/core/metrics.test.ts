import { describe, expect, it } from "vitest";
import type { HistoryEntry } from "../../../src/core/history.js";
import { renderMetrics } from "../../../src/core/metrics.js";
import { emptyState, type State } from "../../../src/core/state.js";
import { sha } from "../helpers/config.js";

const NOW = new Date("2025-01-02T03:00:00.000Z");

function run(over: Partial<HistoryEntry>): HistoryEntry {
  return {
    id: "0000aaaa",
    command: "deploy",
    trigger: "ssh",
    startedAt: "2025-01-02T02:00:00.000Z",
    ms: 12_500,
    from: null,
    to: null,
    outcome: "deployed",
    exitCode: 0,
    steps: [],
    ...over,
  };
}

/** The sample lines (no # HELP / # TYPE) of one metric. */
function samples(text: string, name: string): string[] {
  return text.split("\n").filter((l) => l.startsWith(`${name}{`));
}

describe("renderMetrics", () => {
  it("with no history and nothing live: only the counters' headers and a zero standby", () => {
    const text = renderMetrics("demo", [], emptyState("demo"), NOW);
    expect(text).toBe(
      [
        "# HELP rf_agent_deploys_total Deploys by outcome.",
        "# TYPE rf_agent_deploys_total counter",
        "# HELP rf_agent_rollbacks_total Rollbacks by outcome.",
        "# TYPE rf_agent_rollbacks_total counter",
        "# HELP rf_agent_standby_seconds_left Seconds the warm standby has left (0 = none).",
        "# TYPE rf_agent_standby_seconds_left gauge",
        'rf_agent_standby_seconds_left{app="demo"} 0',
        "",
      ].join("\n"),
    );
  });

  it("counts deploys and rollbacks by outcome, and never counts another command", () => {
    const history = [
      run({ outcome: "deployed" }),
      run({ outcome: "deployed" }),
      run({ outcome: "failed", exitCode: 1 }),
      run({ command: "rollback", outcome: "rolled-back" }),
      run({ command: "discard", outcome: "discarded" }),
    ];
    const text = renderMetrics("demo", history, emptyState("demo"), NOW);
    expect(samples(text, "rf_agent_deploys_total")).toEqual([
      'rf_agent_deploys_total{app="demo",outcome="deployed"} 2',
      'rf_agent_deploys_total{app="demo",outcome="failed"} 1',
    ]);
    expect(samples(text, "rf_agent_rollbacks_total")).toEqual([
      'rf_agent_rollbacks_total{app="demo",outcome="rolled-back"} 1',
    ]);
    expect(text).not.toContain("discard");
  });

  it("describes the last deploy that changed something: a later unchanged run does not hide a failure", () => {
    const history = [
      run({ startedAt: "2025-01-02T01:00:00.000Z", outcome: "deployed" }),
      run({ startedAt: "2025-01-02T02:00:00.000Z", ms: 7_250, outcome: "failed", exitCode: 1 }),
      run({ startedAt: "2025-01-02T02:30:00.000Z", outcome: "unchanged" }),
    ];
    const text = renderMetrics("demo", history, emptyState("demo"), NOW);
    expect(samples(text, "rf_agent_last_deploy_timestamp_seconds")).toEqual([
      `rf_agent_last_deploy_timestamp_seconds{app="demo"} ${Date.parse("2025-01-02T02:00:00.000Z") / 1000}`,
    ]);
    expect(samples(text, "rf_agent_last_deploy_duration_seconds")).toEqual([
      'rf_agent_last_deploy_duration_seconds{app="demo"} 7.25',
    ]);
    expect(samples(text, "rf_agent_last_deploy_success")).toEqual([
      'rf_agent_last_deploy_success{app="demo"} 0',
    ]);
  });

  it("names the live color and commit, and the standby's seconds left, rounded and never negative", () => {
    const state: State = {
      ...emptyState("demo"),
      live: { color: "green", sha: sha("b"), since: NOW.toISOString() },
      standby: { color: "blue", until: new Date(NOW.getTime() + 89_600).toISOString() },
    };
    const text = renderMetrics("demo", [], state, NOW);
    expect(samples(text, "rf_agent_live_info")).toEqual([
      `rf_agent_live_info{app="demo",color="green",commit="${sha("b")}"} 1`,
    ]);
    expect(samples(text, "rf_agent_standby_seconds_left")).toEqual([
      'rf_agent_standby_seconds_left{app="demo"} 90',
    ]);
    const expired = renderMetrics("demo", [], state, new Date(NOW.getTime() + 3_600_000));
    expect(samples(expired, "rf_agent_standby_seconds_left")).toEqual([
      'rf_agent_standby_seconds_left{app="demo"} 0',
    ]);
  });

  it("escapes quotes, backslashes and line breaks in label values", () => {
    const text = renderMetrics("demo", [run({ outcome: 'a"b\\c\nd' })], emptyState("demo"), NOW);
    expect(samples(text, "rf_agent_deploys_total")).toEqual([
      'rf_agent_deploys_total{app="demo",outcome="a\\"b\\\\c\\nd"} 1',
    ]);
  });
});
