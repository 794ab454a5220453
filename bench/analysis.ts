// After the load stops: each operation's window of the load's failures and drops, the poller's errors,
// the totals of a phase, and where the time of rf-agent's operations goes.
import type { LoadSummary } from "../scripts/lab/load.js";
import type { Snapshot } from "./load-tap.js";
import type { Bench, Op, WindowStats } from "./operations.js";
import { failureWindows, fmtRatio, mean } from "./report.js";
import { DEPLOY_OVERHEAD_TARGET_MS, ROLLBACK_TARGET_MS, SWITCH } from "./settings.js";

export function windowStats(
  summary: LoadSummary,
  fromT: number,
  toT: number,
  a: Snapshot,
  b: Snapshot,
  deadlineT: number | null,
): WindowStats {
  const failures = summary.failures.filter((f) => f.t >= fromT && f.t < toT);
  const drops = summary.sessions.drops.filter((d) => d.t >= fromT && d.t < toT);
  const windows = failureWindows(failures.map((f) => f.t));
  return {
    fromT,
    toT,
    sent: b.sent - a.sent,
    // By send time, like sent and the failure windows; the counter (by answer time) if the list was cut short.
    failed: summary.failuresNotListed === 0 ? failures.length : b.failed - a.failed,
    failedByCounter: b.failed - a.failed,
    retried: b.retried - a.retried,
    sessionsOpened: b.sessionsOpened - a.sessionsOpened,
    failureWindows: windows,
    failureWindowMs: windows.reduce((n, w) => n + (w.end - w.start), 0),
    failures,
    drops,
    dropsBeforeDrainDeadline: deadlineT === null ? null : drops.filter((d) => d.t <= deadlineT).length,
  };
}

export function analyse(bench: Bench, summary: LoadSummary, loadStart: number) {
  for (const phase of ["rf-agent", "naive"] as const) {
    const ops = bench.ops.filter((o) => o.phase === phase);
    ops.forEach((op) => {
      const end = op.endSnap ?? op.startSnap;
      const deadlineT = op.drainDeadlineEpoch ? op.drainDeadlineEpoch - loadStart : null;
      op.load = windowStats(summary, op.startSnap.t, end.t, op.startSnap, end, deadlineT);
      op.failuresMsFromStart = op.load.failures.map((f) => Math.round(loadStart + f.t - op.startEpoch));
      op.dropsMsFromStart = op.load.drops.map((d) => Math.round(loadStart + d.t - op.startEpoch));
      const endEpoch = loadStart + end.t;
      const v = bench.poller.between("v", op.startEpoch, endEpoch);
      const h = bench.poller.between("h", op.startEpoch, endEpoch);
      const bad = [...v, ...h].filter((x) => x.st !== 200).sort((a, b) => a.s - b.s);
      op.poller = {
        versionErrors: v.filter((x) => x.st !== 200).length,
        healthErrors: h.filter((x) => x.st !== 200).length,
        // ms from the command start: sent, answered
        errors: bad.slice(0, 200).map((x) => ({
          path: x.k === "v" ? "/api/version" : "/_stcore/health",
          sentMs: x.s - op.startEpoch,
          answeredMs: x.r - op.startEpoch,
          status: x.st,
          body: x.v,
        })),
        versionsSeen: [...new Set(v.map((x) => (x.st === 200 ? x.v : `HTTP ${x.st || x.v}`)))],
      };
      const tr = summary.transitions.find(
        (x) => x.t >= op.startSnap.t && x.t < end.t && x.to.startsWith(`${op.expectVersion}/`),
      );
      op.timeToNewVersionFromLoadMs = tr ? Math.round(loadStart + tr.t - op.startEpoch) : null;
    });
  }
}

export function totals(ops: Op[]) {
  const sum = (f: (o: Op) => number) => ops.reduce((n, o) => n + f(o), 0);
  const nums = (f: (o: Op) => number | null | undefined) =>
    ops.map(f).filter((x): x is number => typeof x === "number");
  return {
    operations: ops.length,
    sent: sum((o) => o.load?.sent ?? 0),
    failed: sum((o) => o.load?.failed ?? 0),
    failureWindows: sum((o) => o.load?.failureWindows.length ?? 0),
    failureWindowMs: sum((o) => o.load?.failureWindowMs ?? 0),
    wsDropped: sum((o) => o.load?.drops.length ?? 0),
    wsDroppedBeforeDrainDeadline: sum((o) => o.load?.dropsBeforeDrainDeadline ?? 0),
    pollerErrors: sum((o) => (o.poller?.versionErrors ?? 0) + (o.poller?.healthErrors ?? 0)),
    meanWallMs: mean(nums((o) => o.wallMs)),
    maxWallMs: Math.max(...nums((o) => o.wallMs)),
    meanTimeToNewVersionMs: mean(nums((o) => o.timeToNewVersionMs)),
    maxTimeToNewVersionMs: Math.max(...nums((o) => o.timeToNewVersionMs)),
    neverServed: ops.filter((o) => o.timeToNewVersionMs === null).length,
    meanAgentOverheadWallMs: mean(nums((o) => o.agentOverheadWallMs)),
    meanAgentOverheadToSwitchMs: mean(nums((o) => o.agentOverheadToSwitchMs)),
    failedCommands: ops.filter((o) => o.exitCode !== 0 || o.error).length,
  };
}

/**
 * ms during which at least one of the steps ran: steps that run together (the checkout alongside
 * "end fallback") count once. A step without its end time counts its whole duration.
 */
export function covered(steps: { ms: number; endMs?: number | null }[]): number {
  const timed = steps
    .filter((s) => s.endMs != null)
    .map((s) => [s.endMs! - s.ms, s.endMs!] as const)
    .sort((a, b) => a[0] - b[0]);
  let total = steps.filter((s) => s.endMs == null).reduce((sum, s) => sum + s.ms, 0);
  let end = -Infinity;
  for (const [a, b] of timed) {
    if (b <= end) continue;
    total += b - Math.max(a, end);
    end = b;
  }
  return total;
}

/** Mean ms of each part of rf-agent's operations, in order: where the time between steps goes too. */
export function breakdown(ops: Op[]): Record<string, number> {
  const acc: Record<string, number[]> = {};
  const add = (k: string, v: number) => (acc[k] ??= []).push(v);
  for (const o of ops) {
    if (o.cliStartMs == null || !o.steps?.length) continue;
    add("cli start (to first log line)", o.cliStartMs);
    const untilSwitch: typeof o.steps = [];
    let switched = false;
    for (const st of o.steps) {
      add(st.step, st.ms);
      if (!switched) untilSwitch.push(st);
      if (st.step === "switch nginx") switched = true;
    }
    if (o.switchConfirmedMs != null)
      add("between steps, until switch", o.switchConfirmedMs - o.cliStartMs - covered(untilSwitch));
    const lastEnd = o.steps.at(-1)?.endMs;
    if (lastEnd != null) add("after last step, until exit", o.wallMs - lastEnd);
  }
  return Object.fromEntries(Object.entries(acc).map(([k, v]) => [k, Math.round(mean(v))]));
}

/** The load at the phases' edges, where outsideWindows draws its windows. */
export interface PhaseMarks {
  /** the load at the end of the rf-agent phase */
  rfEnd: Snapshot;
  /** the load at the start of the naive phase */
  firstNv: Snapshot;
  /** the load at the end of the naive phase */
  naiveEnd: Snapshot;
  /** when the bench asked the load to stop */
  loadStopAsked: number;
}

/**
 * The load outside the operations' windows (between operations, the warmup, the rf-agent -> naive
 * changeover, the tail), so every request the load sent is counted exactly once.
 */
export function outsideWindows(summary: LoadSummary, rfOps: Op[], nvOps: Op[], marks: PhaseMarks) {
  const { rfEnd, firstNv, naiveEnd, loadStopAsked } = marks;
  const firstRf = rfOps[0]?.startSnap ?? rfEnd;
  const zero: Snapshot = {
    t: 0,
    sent: 0,
    failed: 0,
    retried: 0,
    sessionsOpened: 0,
    dropped: 0,
    askedAt: 0,
    gotAt: 0,
  };
  const final: Snapshot = {
    t: summary.durationMs,
    sent: summary.requests.sent,
    failed: summary.requests.failed,
    retried: summary.requests.retried,
    sessionsOpened: summary.sessions.opened,
    dropped: summary.sessions.dropped,
    askedAt: loadStopAsked,
    gotAt: loadStopAsked,
  };
  const strip = (w: WindowStats) => ({ ...w, failures: undefined, drops: w.drops.length });
  const between = (ops: Op[]) => {
    const gaps = ops.slice(1).map((o, i) => {
      const a = ops[i]?.endSnap ?? o.startSnap;
      return windowStats(summary, a.t, o.startSnap.t, a, o.startSnap, null);
    });
    return {
      gaps: gaps.length,
      ms: gaps.reduce((n, g) => n + g.toT - g.fromT, 0),
      sent: gaps.reduce((n, g) => n + g.sent, 0),
      failed: gaps.reduce((n, g) => n + g.failed, 0),
      drops: gaps.reduce((n, g) => n + g.drops.length, 0),
      failures: gaps.flatMap((g) => g.failures),
    };
  };
  return {
    betweenRfAgentOps: between(rfOps),
    betweenNaiveOps: between(nvOps),
    warmup: strip(windowStats(summary, 0, firstRf.t, zero, firstRf, null)),
    transitionToNaive: strip(windowStats(summary, rfEnd.t, firstNv.t, rfEnd, firstNv, null)),
    tail: strip(windowStats(summary, naiveEnd.t, Infinity, naiveEnd, final, null)),
  };
}

const meanOf = (ops: Op[], pick: (o: Op) => number | null | undefined) =>
  mean(ops.map(pick).filter((x): x is number => typeof x === "number"));
const meanT = (ops: Op[]) => meanOf(ops, (o) => o.timeToNewVersionMs);
const meanAll = (ops: Op[]) => meanOf(ops, (o) => o.timeToAllServingMs);
const ofKind = (ops: Op[], kind: Op["op"]) => ops.filter((o) => o.op === kind);

/** naive / rf-agent for each headline number. */
export function ratiosOf(rfOps: Op[], nvOps: Op[]) {
  const rfT = totals(rfOps);
  const nvT = totals(nvOps);
  const [rfDeploys, rfRollbacks] = [ofKind(rfOps, "deploy"), ofKind(rfOps, "rollback")];
  const [nvDeploys, nvRollbacks] = [ofKind(nvOps, "deploy"), ofKind(nvOps, "rollback")];
  return {
    failedRequests: fmtRatio(nvT.failed, rfT.failed),
    failureWindowSeconds: fmtRatio(nvT.failureWindowMs, rfT.failureWindowMs),
    wsDropped: fmtRatio(nvT.wsDropped, rfT.wsDropped),
    timeToNewVersionDeploy: fmtRatio(meanT(nvDeploys), meanT(rfDeploys)),
    timeToNewVersionRollback: fmtRatio(meanT(nvRollbacks), meanT(rfRollbacks)),
    timeToAllServingDeploy: fmtRatio(meanAll(nvDeploys), meanAll(rfDeploys)),
    timeToAllServingRollback: fmtRatio(meanAll(nvRollbacks), meanAll(rfRollbacks)),
    wallTimeDeploy: fmtRatio(mean(nvDeploys.map((o) => o.wallMs)), mean(rfDeploys.map((o) => o.wallMs))),
  };
}

/** rf-agent's targets, each passed or failed with what was measured; none passes on an incomplete run. */
export function targetsOf(rfOps: Op[], runs: number) {
  const rfT = totals(rfOps);
  const [rfDeploys, rfRollbacks] = [ofKind(rfOps, "deploy"), ofKind(rfOps, "rollback")];
  const maxOf = (xs: (number | null | undefined)[]) => {
    const n = xs.filter((x): x is number => typeof x === "number");
    return n.length === xs.length && n.length > 0 ? Math.max(...n) : null;
  };
  const rbMax = maxOf(rfRollbacks.map((o) => o.timeToNewVersionMs));
  const ovhSwitchMax = maxOf(rfDeploys.map((o) => o.agentOverheadToSwitchMs));
  const ovhWallMax = maxOf(rfDeploys.map((o) => o.agentOverheadWallMs));
  const complete = rfOps.length === 2 * runs && rfT.failedCommands === 0;
  return [
    {
      target: "0 failed requests across all rf-agent deploys and rollbacks",
      pass: complete && rfT.failed === 0,
      measured: `${rfT.failed} failed of ${rfT.sent} sent in ${rfOps.length} operations (${rfT.failureWindows} failure windows)`,
    },
    {
      target: "0 websocket sessions dropped before the drain deadline",
      pass: complete && rfT.wsDroppedBeforeDrainDeadline === 0,
      measured: `${rfT.wsDroppedBeforeDrainDeadline} dropped before the deadline (${rfT.wsDropped} in all rf-agent windows)`,
    },
    {
      target: `rollback within standby: command start to old version serving < ${ROLLBACK_TARGET_MS} ms`,
      pass:
        complete && rbMax !== null && rbMax < ROLLBACK_TARGET_MS && rfRollbacks.every((o) => o.warmRollback),
      measured:
        rbMax === null
          ? "no measurement"
          : `max ${rbMax} ms, mean ${Math.round(meanT(rfRollbacks))} ms over ${rfRollbacks.length} rollbacks` +
            ` (all warm: ${rfRollbacks.every((o) => o.warmRollback)})`,
    },
    {
      target: `code-only deploy: time to switch confirmed <= slowest start-to-healthy + ${DEPLOY_OVERHEAD_TARGET_MS} ms`,
      pass: complete && ovhSwitchMax !== null && ovhSwitchMax <= DEPLOY_OVERHEAD_TARGET_MS,
      measured:
        ovhSwitchMax === null
          ? "no measurement"
          : `switch confirmed - health: max ${ovhSwitchMax} ms; wall - health (includes the ${SWITCH.watch} s watch and the drain, by design): max ${ovhWallMax} ms`,
    },
  ];
}
