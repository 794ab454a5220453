// The printed report: the results table (one row per operation, one of totals per phase) and the
// lines around it: settings, what was not a measured run, outside windows, ratios and targets.
import {
  figures,
  statOf,
  totals,
  type outsideWindows,
  type pooledLatency,
  type ratiosOf,
  type targetsOf,
} from "./analysis.js";
import type { Op } from "./operations.js";
import { fmtMs, mean, renderTable } from "./report.js";
import { POLL_MS, SWITCH, type Profile } from "./settings.js";

/** Median and p95 of each figure, for each kind of operation of both phases. */
export function summaryTable(rfOps: Op[], nvOps: Op[]): string {
  const kinds = [
    ["rf-agent deploy", rfOps.filter((o) => o.op === "deploy")],
    ["rf-agent rollback", rfOps.filter((o) => o.op === "rollback")],
    ["naive deploy", nvOps.filter((o) => o.op === "deploy")],
    ["naive rollback", nvOps.filter((o) => o.op === "rollback")],
  ] as const;
  const columns = kinds.map(([, ops]) => figures(ops));
  const cell = (xs: (number | null | undefined)[]) => {
    const m = statOf(xs, "median");
    const p = statOf(xs, "p95");
    return m === null ? "-" : `${Math.round(m)} / ${Math.round(p!)}`;
  };
  const rows = (columns[0] ?? []).map((f, i) => [f.figure, ...columns.map((c) => cell(c[i]?.values ?? []))]);
  return renderTable(["median / p95", ...kinds.map(([k]) => k)], rows);
}

export function opRows(ops: Op[]): string[][] {
  const s = (ms: number | null | undefined) => (typeof ms === "number" ? (ms / 1000).toFixed(2) : "-");
  return ops.map((o) => [
    o.phase,
    String(o.run),
    `${o.op}${o.exitCode !== 0 ? ` (exit ${o.exitCode})` : ""}`,
    `${o.fromVersion}->${o.expectVersion}`,
    String(o.load?.sent ?? "-"),
    String(o.load?.failed ?? "-"),
    `${o.load?.failureWindows.length ?? "-"} / ${s(o.load?.failureWindowMs)}`,
    `${o.load?.drops.length ?? "-"}${o.load?.dropsBeforeDrainDeadline != null ? ` (${o.load.dropsBeforeDrainDeadline})` : ""}`,
    String((o.poller?.versionErrors ?? 0) + (o.poller?.healthErrors ?? 0)),
    s(o.wallMs),
    s(o.timeToNewVersionMs),
    s(o.webBackMs),
    s(o.switchConfirmedMs),
    s(o.healthMs),
    s(o.agentOverheadWallMs),
    s(o.agentOverheadToSwitchMs),
  ]);
}

export function totalRow(label: string, t: ReturnType<typeof totals>): string[] {
  const s = (ms: number | null) => (ms === null || !Number.isFinite(ms) ? "-" : (ms / 1000).toFixed(2));
  return [
    label,
    "all",
    `${t.operations} ops`,
    "",
    String(t.sent),
    String(t.failed),
    `${t.failureWindows} / ${s(t.failureWindowMs)}`,
    `${t.wsDropped}${label === "rf-agent" ? ` (${t.wsDroppedBeforeDrainDeadline})` : ""}`,
    String(t.pollerErrors),
    `avg ${s(t.meanWallMs)}`,
    `avg ${s(t.meanTimeToNewVersionMs)}`,
    "",
    "",
    "",
    `avg ${s(t.meanAgentOverheadWallMs)}`,
    `avg ${s(t.meanAgentOverheadToSwitchMs)}`,
  ];
}

export const HEADER = [
  "phase",
  "run",
  "op",
  "version",
  "sent",
  "failed",
  "fail win n/s",
  "ws drop (<=dl)",
  "poll err",
  "wall s",
  "new ver s",
  "ui back s",
  "switch s",
  "health s",
  "ovh wall s",
  "ovh sw s",
];

/** What the report says beyond the operations themselves. */
export interface ReportInput {
  profile: Profile;
  runs: number;
  server: string;
  cpus: number;
  /** [health] of agent.ini */
  health: Record<string, unknown> | undefined;
  /** wall ms of what ran before the measured runs */
  unmeasuredMs: { first: number; prepDeploy: number; prepRollback: number; naiveCloneAndVenv: number };
  alignmentUncertaintyMs: number;
  allOps: Op[];
  rfOps: Op[];
  nvOps: Op[];
  buckets: ReturnType<typeof outsideWindows>;
  meanStepMs: Record<string, Record<string, number>>;
  rfNginxErrors: number;
  ratios: ReturnType<typeof ratiosOf>;
  targets: ReturnType<typeof targetsOf>;
  latency: { rfAgent: ReturnType<typeof pooledLatency>; naive: ReturnType<typeof pooledLatency> } | null;
}

/** The report's lines, as printed and as kept in the JSON's `table`. */
export function reportLines(r: ReportInput): string[] {
  const {
    profile,
    runs,
    server,
    cpus,
    health,
    unmeasuredMs: u,
    alignmentUncertaintyMs,
    allOps,
    rfOps,
    nvOps,
    buckets,
  } = r;
  const rfT = totals(rfOps);
  const nvT = totals(nvOps);
  const rows = [...opRows(rfOps), totalRow("rf-agent", rfT), ...opRows(nvOps), totalRow("naive", nvT)];
  const out: string[] = [];
  out.push("");
  out.push(
    `rf-agent bench, profile ${profile.name}: ${runs} runs, server ${server}, ${cpus} cpus, load ${profile.describe}`,
  );
  out.push(
    `agent.ini [switch]: standby=${SWITCH.standby} watch=${SWITCH.watch} grace=${SWITCH.grace} drain=${SWITCH.drain}; [health]: interval=${health?.interval} stable=${health?.stable} successes=${health?.successes}`,
  );
  out.push(
    `not runs: first deploy (venv + pip) ${fmtMs(u.first)}; other color's first deploy (venv + pip) ${fmtMs(u.prepDeploy)} + rollback ${fmtMs(u.prepRollback)}; naive install clone + venv + pip ${fmtMs(u.naiveCloneAndVenv)}`,
  );
  out.push(
    `time to new version: poller GET /api/version through nginx every ${POLL_MS} ms (load transitions as cross-check in JSON); load clock aligned to +-${Math.round(alignmentUncertaintyMs)} ms`,
  );
  out.push("");
  out.push(renderTable(HEADER, rows));
  out.push(
    "  ws drop (<=dl): sessions dropped in the window (of those, before the drain deadline); poll err: poller answers not 200;",
  );
  out.push(
    "  new ver s: command start to the poller's first /api/version answer with the new version; ui back s: to the UI's health answering again after failing (- if it never failed)",
  );
  out.push(
    "  switch s: command start to rf-agent's `✓ switch nginx`; health s: 'health' step (slowest service); ovh wall = wall - health; ovh sw = switch - health",
  );
  out.push(
    `  outside op windows: warmup ${buckets.warmup.failed} failed / ${buckets.warmup.drops} drops; between rf-agent ops ${buckets.betweenRfAgentOps.failed} / ${buckets.betweenRfAgentOps.drops}; rf-agent -> naive changeover ${buckets.transitionToNaive.failed} / ${buckets.transitionToNaive.drops}; between naive ops ${buckets.betweenNaiveOps.failed} / ${buckets.betweenNaiveOps.drops}; tail ${buckets.tail.failed} failed`,
  );
  for (const [k, b] of Object.entries(r.meanStepMs)) {
    const text = Object.entries(b)
      .map(([step, ms]) => `${step} ${ms}`)
      .join(" | ");
    out.push(`  rf-agent ${k}, mean ms: ${text}`);
  }
  const floors = (ops: Op[]) =>
    `node -e 0 ${Math.round(mean(ops.map((o) => o.nodeFloorMs ?? NaN)))} ms, rf-agent history ${Math.round(mean(ops.map((o) => o.cliFloorMs ?? NaN)))} ms`;
  out.push(`  nginx error.log lines during the rf-agent phase (first deploys included): ${r.rfNginxErrors}`);
  out.push(`  start-up floors in the server (mean, nsenter included): ${floors(rfOps)}`);
  const hl = (ops: Op[]) => mean(ops.map((o) => o.hostLoad1 ?? NaN)).toFixed(1);
  out.push(
    `  host load average (1 min, 2 cores, shared with other servers): rf-agent ops ${hl(rfOps)}, naive ops ${hl(nvOps)}`,
  );
  for (const o of allOps.filter((x) => x.prepMs > 10_000))
    out.push(
      `  note: preparing ${o.phase} run ${o.run} ${o.op} (pushing the version) took ${fmtMs(o.prepMs)}`,
    );
  const pip = rfOps.filter((o) => o.pipRan);
  if (pip.length)
    out.push(`  WARNING: rf-agent ran pip in ${pip.length} measured operation(s): not code-only`);
  out.push("");
  const rate = (ops: Op[]) => {
    const ms = ops.reduce((n, o) => n + (o.load ? o.load.toT - o.load.fromT : 0), 0);
    return ms > 0 ? Math.round((totals(ops).sent / ms) * 1000) : 0;
  };
  out.push(
    `request rate the load reached in the operation windows: rf-agent ${rate(rfOps)} req/s, naive ${rate(nvOps)} req/s (failed ones included)`,
  );
  out.push(summaryTable(rfOps, nvOps));
  if (r.latency) {
    const l = (w: ReturnType<typeof pooledLatency>["steady"]) =>
      `p50 ${w.p50 ?? "-"} ms, p99 ${w.p99 ?? "-"} ms of ${w.n} requests (${w.failed} failed)`;
    out.push(
      `  request latency, pooled: rf-agent steady ${l(r.latency.rfAgent.steady)}; around its switches ${l(r.latency.rfAgent.aroundSwitch)}`,
    );
    out.push(
      `  naive steady ${l(r.latency.naive.steady)}; the second from its restarts ${l(r.latency.naive.aroundSwitch)}`,
    );
  }
  out.push("");
  out.push("ratios (naive / rf-agent):");
  for (const [k, v] of Object.entries(r.ratios)) out.push(`  ${k.padEnd(26)} ${v}`);
  out.push("");
  out.push("targets:");
  for (const t of r.targets) out.push(`  ${t.pass ? "PASS" : "FAIL"}  ${t.target}\n        ${t.measured}`);
  out.push("");
  return out;
}
