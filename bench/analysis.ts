// After the load stops: each operation's window of the load's failures and drops, the poller's errors,
// the totals of a phase, and where the time of rf-agent's operations goes.
import type { LoadSummary } from "../scripts/lab/load.js";
import type { Snapshot } from "./load-tap.js";
import type { Bench, Op, WindowStats } from "./operations.js";
import { percentile, windowLatency, type Latencies, type WindowLatency } from "./latency.js";
import { failureWindows, fmtRatio, mean } from "./report.js";
import {
  AROUND_SWITCH_AFTER_MS,
  AROUND_SWITCH_BEFORE_MS,
  DEPLOY_OVERHEAD_TARGET_MS,
  STEADY_MS,
  SWITCH_P99_FACTOR,
  UNNAMED_GAP_TARGET_MS,
  type Profile,
} from "./settings.js";

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

const steadyWindow = (o: Op) => [o.startEpoch - STEADY_MS, o.startEpoch] as const;
const switchWindow = (o: Op) =>
  o.switchEpoch == null
    ? null
    : ([
        o.switchEpoch - AROUND_SWITCH_BEFORE_MS,
        Math.max(o.switchEpoch + AROUND_SWITCH_AFTER_MS, o.switchEndEpoch ?? o.switchEpoch),
      ] as const);

/** Each operation's latency: the steady state just before its command, the second around its switch. */
export function addLatency(ops: Op[], lat: Latencies): void {
  for (const o of ops) {
    const around = switchWindow(o);
    o.latency = {
      steady: windowLatency(lat, [steadyWindow(o)]),
      aroundSwitch: around ? windowLatency(lat, [around]) : null,
    };
  }
}

/** The same windows of every operation pooled: one steady state and one "around a switch" per phase. */
export function pooledLatency(
  ops: Op[],
  lat: Latencies,
): { steady: WindowLatency; aroundSwitch: WindowLatency } {
  return {
    steady: windowLatency(lat, ops.map(steadyWindow)),
    aroundSwitch: windowLatency(
      lat,
      ops.map(switchWindow).filter((w): w is NonNullable<typeof w> => w !== null),
    ),
  };
}

export type Stat = "median" | "p95";
/** median or p95 (nearest rank) of the numbers among xs; null when there are none. */
export function statOf(xs: (number | null | undefined)[], stat: Stat): number | null {
  const n = xs.filter((x): x is number => typeof x === "number").sort((a, b) => a - b);
  return percentile(n, stat === "median" ? 50 : 95);
}

/** The figures the summary table reports, per kind of operation: name and the value of each operation. */
export function figures(ops: Op[]): { figure: string; values: (number | null | undefined)[] }[] {
  return [
    { figure: "command start to version served, ms", values: ops.map((o) => o.timeToNewVersionMs) },
    { figure: "wall time, ms", values: ops.map((o) => o.wallMs) },
    { figure: "app start to first healthy, ms", values: ops.map((o) => o.appStartToFirstHealthyMs) },
    {
      figure: "deploy overhead (served - app start to healthy), ms",
      values: ops.map((o) => o.deployOverheadMs),
    },
    { figure: "health step, ms", values: ops.map((o) => o.healthMs) },
    { figure: "switch confirmed, ms from command start", values: ops.map((o) => o.switchConfirmedMs) },
    { figure: "rf-agent start-up (process start to run start), ms", values: ops.map((o) => o.startupMs) },
    { figure: "longest stretch no step names, ms", values: ops.map((o) => o.unnamedGap?.ms) },
    { figure: "p50 latency, steady, ms", values: ops.map((o) => o.latency?.steady.p50) },
    { figure: "p99 latency, steady, ms", values: ops.map((o) => o.latency?.steady.p99) },
    { figure: "p50 latency, second around switch, ms", values: ops.map((o) => o.latency?.aroundSwitch?.p50) },
    { figure: "p99 latency, second around switch, ms", values: ops.map((o) => o.latency?.aroundSwitch?.p99) },
    { figure: "failed requests", values: ops.map((o) => o.load?.failed) },
  ];
}

/** rf-agent's targets, each passed or failed with what was measured; none passes on an incomplete run. */
export function targetsOf(
  rfOps: Op[],
  runs: number,
  profile: Profile,
  pooled: { steady: WindowLatency; aroundSwitch: WindowLatency } | null,
) {
  const rfT = totals(rfOps);
  const [rfDeploys, rfRollbacks] = [ofKind(rfOps, "deploy"), ofKind(rfOps, "rollback")];
  const all = <T>(xs: (T | null | undefined)[]) => xs.length > 0 && xs.every((x) => x != null);
  const complete = rfOps.length === 2 * runs && rfT.failedCommands === 0;
  const rb = statOf(
    rfRollbacks.map((o) => o.timeToNewVersionMs),
    profile.rollback.stat,
  );
  const rbAll = all(rfRollbacks.map((o) => o.timeToNewVersionMs));
  const overheads = rfDeploys.map((o) => o.deployOverheadMs);
  const ovh = statOf(overheads, "p95");
  const gaps = rfOps.map((o) => o.unnamedGap);
  const worstGap = gaps.reduce<{ ms: number; after: string } | null>(
    (w, g) => (g && (!w || g.ms > w.ms) ? g : w),
    null,
  );
  const steadyP99 = pooled?.steady.p99 ?? null;
  const switchP99 = pooled?.aroundSwitch.p99 ?? null;
  const fmt = (ms: number | null) => (ms === null ? "-" : `${Math.round(ms)} ms`);
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
      target: `rollback within standby: command start to old version served, ${profile.rollback.stat} < ${profile.rollback.belowMs} ms`,
      pass:
        complete &&
        rbAll &&
        rb !== null &&
        rb < profile.rollback.belowMs &&
        rfRollbacks.every((o) => o.warmRollback),
      measured:
        `${profile.rollback.stat} ${fmt(rb)}, median ${fmt(
          statOf(
            rfRollbacks.map((o) => o.timeToNewVersionMs),
            "median",
          ),
        )}, ` +
        `p95 ${fmt(
          statOf(
            rfRollbacks.map((o) => o.timeToNewVersionMs),
            "p95",
          ),
        )} over ${rfRollbacks.length} rollbacks` +
        ` (all warm: ${rfRollbacks.every((o) => o.warmRollback)})`,
    },
    {
      target: `code-only deploy: command start to new version served <= the app's own start-to-first-healthy + ${DEPLOY_OVERHEAD_TARGET_MS} ms (p95)`,
      pass: complete && all(overheads) && ovh !== null && ovh <= DEPLOY_OVERHEAD_TARGET_MS,
      measured:
        `overhead p95 ${fmt(ovh)}, median ${fmt(statOf(overheads, "median"))}; app start to first healthy median ` +
        `${fmt(
          statOf(
            rfDeploys.map((o) => o.appStartToFirstHealthyMs),
            "median",
          ),
        )}, served median ` +
        `${fmt(
          statOf(
            rfDeploys.map((o) => o.timeToNewVersionMs),
            "median",
          ),
        )}` +
        (rfDeploys.some((o) => o.pipRan) ? " (WARNING: pip ran)" : ""),
    },
    {
      target: `every millisecond of a run named in history --json: no stretch without a step over ${UNNAMED_GAP_TARGET_MS} ms`,
      pass: complete && all(gaps) && worstGap !== null && worstGap.ms <= UNNAMED_GAP_TARGET_MS,
      measured: worstGap
        ? `longest ${worstGap.ms} ms, after ${worstGap.after}`
        : "no history with step start times",
    },
    {
      target: `no latency spike at the switch: p99 in the second around a switch <= ${SWITCH_P99_FACTOR}x the steady p99`,
      pass:
        complete && steadyP99 !== null && switchP99 !== null && switchP99 <= SWITCH_P99_FACTOR * steadyP99,
      measured:
        `around switch p99 ${fmt(switchP99)} (p50 ${fmt(pooled?.aroundSwitch.p50 ?? null)}, ${pooled?.aroundSwitch.n ?? 0} requests), ` +
        `steady p99 ${fmt(steadyP99)} (p50 ${fmt(pooled?.steady.p50 ?? null)}, ${pooled?.steady.n ?? 0} requests)` +
        (steadyP99 && switchP99 ? `: ${(switchP99 / steadyP99).toFixed(2)}x` : ""),
    },
  ];
}
