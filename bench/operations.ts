// The measured operations: one rf-agent or naive deploy/rollback, timed from the host, with rf-agent's
// steps (from its history and its JSON log lines) and what the poller saw until the app served again.
import os from "node:os";
import type { HistoryEntry } from "../src/adapters/history.js";
import type { LoadSummary } from "../scripts/lab/load.js";
import { logRecords } from "../scripts/lab/log-records.js";
import { AGENT_CONFIG, type TestServer } from "../scripts/lab/server.js";
import type { LoadTap, Snapshot } from "./load-tap.js";
import type { WindowLatency } from "./latency.js";
import type { Poller } from "./poller-samples.js";
import { fmtMs, type FailureWindow } from "./report.js";
import { SETTLE_MS, SWITCH, TRIGGER } from "./settings.js";
import { say, sleep, waitFor } from "./waiting.js";

export interface StepTime {
  step: string;
  ms: number;
  ok: boolean;
  /** ms from the command start to the step's end, from rf-agent's log line */
  endMs: number | null;
}

/** The longest stretch of a run that no step names: ms, and the step it follows. */
export interface UnnamedGap {
  ms: number;
  after: string;
}

/**
 * Where a run's time is not named by a step: the stretches of [0, entry.ms] that no step's
 * [at, at + ms] covers (steps that run together overlap). The process's start-up before the run is
 * named by its own field (startupMs). Null for an entry without step start times.
 */
export function unnamedGap(entry: Pick<HistoryEntry, "ms" | "steps">): UnnamedGap | null {
  const steps = entry.steps.filter((s) => typeof s.at === "number");
  if (steps.length !== entry.steps.length) return null;
  const sorted = [...steps].sort((a, b) => a.at! - b.at!);
  let worst: UnnamedGap = { ms: 0, after: "run start" };
  let end = 0;
  let last = "run start";
  for (const s of sorted) {
    if (s.at! - end > worst.ms) worst = { ms: s.at! - end, after: last };
    if (s.at! + s.ms >= end) {
      end = s.at! + s.ms;
      last = s.step;
    }
  }
  if (entry.ms - end > worst.ms) worst = { ms: entry.ms - end, after: `${last} (to the run's end)` };
  return worst;
}

export type Phase = "rf-agent" | "naive";

export interface Op {
  phase: Phase;
  run: number;
  op: "deploy" | "rollback";
  command: string;
  expectVersion: string;
  fromVersion: string;
  exitCode: number;
  startEpoch: number;
  endEpoch: number;
  wallMs: number;
  readyEpoch: number | null;
  timeToNewVersionMs: number | null;
  /** first answer of the UI's health after its last failing one, if it failed at all in the window */
  webBackMs: number | null;
  /** max(time to new version, UI back): the whole app serving again */
  timeToAllServingMs?: number | null;
  error: string | null;
  stdout: string;
  stderrTail: string;
  /** ms spent just before the start snapshot preparing this operation (pushing the version, reading HEAD) */
  prepMs: number;
  startSnap: Snapshot;
  /** taken once the operation is done, serving, and settled */
  endSnap?: Snapshot;
  /** the host's 1-minute load average when the command ended (other servers may share the 2 cores) */
  hostLoad1?: number | null;
  // rf-agent only
  /** wall ms of `node -e 0` in the server (nsenter + bare node), right after the command */
  nodeFloorMs?: number;
  /** wall ms of `rf-agent history --json -n 1` right after the command: rf-agent's start-up floor */
  cliFloorMs?: number;
  deployId?: string | null;
  history?: HistoryEntry | null;
  steps?: StepTime[];
  cliStartMs?: number | null;
  switchConfirmedMs?: number | null;
  healthMs?: number | null;
  startStepMs?: number | null;
  /** the app's own start: from the start step's start to the slowest service's first healthy answer */
  appStartToFirstHealthyMs?: number | null;
  /** code-only deploy: time to new version minus appStartToFirstHealthyMs */
  deployOverheadMs?: number | null;
  /** history's longest stretch that no step names */
  unnamedGap?: UnnamedGap | null;
  /** process start to the run's start (history startupMs) */
  startupMs?: number | null;
  /** epoch ms of the switch (rf-agent: the switch step's start; naive: the command's start) */
  switchEpoch?: number | null;
  switchEndEpoch?: number | null;
  warmRollback?: boolean;
  /** true if rf-agent ran pip in this operation (then it was not code-only for rf-agent) */
  pipRan?: boolean;
  agentOverheadWallMs?: number | null;
  agentOverheadToSwitchMs?: number | null;
  drainDeadlineEpoch?: number | null;
  // filled after the load stops
  load?: WindowStats;
  poller?: {
    versionErrors: number;
    healthErrors: number;
    errors: { path: string; sentMs: number; answeredMs: number; status: number; body: string }[];
    versionsSeen: string[];
  };
  timeToNewVersionFromLoadMs?: number | null;
  /** request latency: the steady state just before the command, and the second around the switch */
  latency?: { steady: WindowLatency; aroundSwitch: WindowLatency | null };
  /** the load's failures and drops in this window, as ms from the command start (same order as load.*) */
  failuresMsFromStart?: number[];
  dropsMsFromStart?: number[];
}

export interface WindowStats {
  fromT: number;
  toT: number;
  sent: number;
  failed: number;
  failedByCounter: number;
  retried: number;
  sessionsOpened: number;
  failureWindows: FailureWindow[];
  failureWindowMs: number;
  failures: LoadSummary["failures"];
  drops: LoadSummary["sessions"]["drops"];
  dropsBeforeDrainDeadline: number | null;
}

export function tail(text: string, lines = 25): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

export class Bench {
  readonly ops: Op[] = [];
  poller!: Poller;
  tap!: LoadTap;

  constructor(readonly server: TestServer) {}

  /**
   * In a session of its own, as an SSH login or a systemd unit runs it: with the kernel's autogroup
   * scheduling a session shares the CPU as one, and the load and the poller (the bench's own children)
   * must not share rf-agent's.
   */
  private async rfAgent(args: string[]) {
    const [command = "", ...rest] = args;
    return this.server.exec("setsid", ["-w", "rf-agent", command, "--config", AGENT_CONFIG, ...rest], {
      env: TRIGGER,
    });
  }

  /** Wall ms of the last `rf-agent history` call: node start + imports + config, no real work. */
  historyWallMs = 0;

  async lastHistory(): Promise<HistoryEntry | null> {
    const t = Date.now();
    const r = await this.rfAgent(["history", "--json", "-n", "1"]);
    this.historyWallMs = Date.now() - t;
    const line = r.stdout.trim().split("\n").at(-1) ?? "";
    try {
      return JSON.parse(line) as HistoryEntry;
    } catch {
      return null;
    }
  }

  /** A command that is not a measured run (the first deploys, before the load starts), but timed. */
  async unmeasured(args: string[]) {
    const start = Date.now();
    const r = await this.rfAgent(args);
    const wallMs = Date.now() - start;
    if (r.exitCode !== 0)
      throw new Error(`rf-agent ${args.join(" ")} failed (exit ${r.exitCode}):\n${tail(r.stderr)}`);
    const history = await this.lastHistory();
    return {
      command: `rf-agent ${args.join(" ")}`,
      wallMs,
      exitCode: r.exitCode,
      stdout: r.stdout.trim(),
      history,
      steps: this.stepTimes(history, r.stderr, start),
    };
  }

  private stepTimes(history: HistoryEntry | null, stderr: string, start: number): StepTime[] {
    const lines = logRecords(stderr).filter((l) => typeof l.step === "string" && typeof l.ms === "number");
    return (history?.steps ?? []).map((s) => {
      const line = lines.find((l) => l.step === s.step && l.ms === s.ms);
      return { ...s, endMs: typeof line?.time === "number" ? line.time - start : null };
    });
  }

  /** The poller's latest answers: the expected version (asked after start) and a healthy UI (asked after end). */
  ready(expect: string, start: number, end: number): boolean {
    const v = this.poller.latest("v");
    const h = this.poller.latest("h");
    return (
      !!v && v.s >= start && v.st === 200 && v.v.startsWith(`${expect}/`) && !!h && h.s >= end && h.st === 200
    );
  }

  private async finishOp(op: Op): Promise<Op> {
    if (op.exitCode === 0 || op.phase === "naive") {
      try {
        op.readyEpoch = await waitFor(`version ${op.expectVersion} to serve`, () =>
          this.ready(op.expectVersion, op.startEpoch, op.endEpoch),
        );
      } catch (e) {
        op.error = `${op.error ? `${op.error}; ` : ""}${(e as Error).message}`;
      }
    }
    const first = this.poller
      .between("v", op.startEpoch, Infinity)
      .find((x) => x.st === 200 && x.v.startsWith(`${op.expectVersion}/`));
    op.timeToNewVersionMs = first ? first.r - op.startEpoch : null;
    if (op.op === "deploy" && op.appStartToFirstHealthyMs != null && op.timeToNewVersionMs !== null)
      op.deployOverheadMs = op.timeToNewVersionMs - op.appStartToFirstHealthyMs;
    const until = op.readyEpoch ?? Date.now();
    const health = this.poller.between("h", op.startEpoch, until);
    const lastBad = health.map((x) => x.st === 200).lastIndexOf(false);
    const back = lastBad >= 0 ? health.slice(lastBad + 1).find((x) => x.st === 200) : undefined;
    op.webBackMs = back ? back.r - op.startEpoch : null;
    op.timeToAllServingMs =
      op.timeToNewVersionMs === null ? null : Math.max(op.timeToNewVersionMs, op.webBackMs ?? 0);
    this.ops.push(op);
    const tn = op.timeToNewVersionMs === null ? "never" : fmtMs(op.timeToNewVersionMs);
    say(
      `${op.phase} run ${op.run} ${op.op} -> ${op.expectVersion}: exit ${op.exitCode}, wall ${fmtMs(op.wallMs)}, new version after ${tn}` +
        (op.error ? ` (${op.error})` : ""),
    );
    await sleep(SETTLE_MS);
    op.endSnap = await this.tap.snapshot();
    return op;
  }

  async rfOp(
    run: number,
    kind: "deploy" | "rollback",
    fromVersion: string,
    expectVersion: string,
    prepMs: number,
  ): Promise<Op> {
    const startSnap = await this.tap.snapshot();
    const startEpoch = Date.now();
    const r = await this.rfAgent([kind]);
    const endEpoch = Date.now();
    const logs = logRecords(r.stderr);
    const deployId = logs.find((l) => typeof l.deploy === "string")?.deploy ?? null;
    const history = await this.lastHistory();
    const cliFloorMs = this.historyWallMs;
    const t = Date.now();
    await this.server.exec("node", ["-e", "0"]);
    const nodeFloorMs = Date.now() - t;
    const matched = history && history.id === deployId ? history : null;
    const steps = this.stepTimes(matched, r.stderr, startEpoch);
    const firstLog = logs.find((l) => typeof l.time === "number");
    const switchStep = steps.find((s) => s.step === "switch nginx" && s.ok);
    const healthMs = steps.find((s) => s.step === "health")?.ms ?? null;
    const switchConfirmedMs = switchStep?.endMs ?? null;
    const wallMs = endEpoch - startEpoch;
    // The health step's log line says when each service first answered (ms from the step's start).
    const health = steps.find((s) => s.step === "health" && s.ok);
    const start = steps.find((s) => s.step === "start" && s.ok);
    const first = logs.find((l) => l.step === "health" && typeof l.ms === "number")?.firstHealthy;
    const firstMs =
      first && typeof first === "object" ? Math.max(...Object.values(first as Record<string, number>)) : null;
    const appStartToFirstHealthyMs =
      health?.endMs != null && start?.endMs != null && firstMs !== null && Number.isFinite(firstMs)
        ? health.endMs - health.ms + firstMs - (start.endMs - start.ms)
        : null;
    return this.finishOp({
      phase: "rf-agent",
      run,
      op: kind,
      command: `rf-agent ${kind}`,
      expectVersion,
      fromVersion,
      exitCode: r.exitCode,
      startEpoch,
      endEpoch,
      wallMs,
      readyEpoch: null,
      timeToNewVersionMs: null,
      webBackMs: null,
      error:
        r.exitCode === 0 ? (matched ? null : "history entry not found for this run") : `exit ${r.exitCode}`,
      stdout: r.stdout.trim(),
      stderrTail: r.exitCode === 0 ? "" : tail(r.stderr),
      prepMs,
      startSnap,
      deployId,
      hostLoad1: os.loadavg()[0] ?? null,
      nodeFloorMs,
      cliFloorMs,
      history: matched,
      steps,
      cliStartMs: typeof firstLog?.time === "number" ? firstLog.time - startEpoch : null,
      switchConfirmedMs,
      healthMs,
      startStepMs: steps.find((s) => s.step === "start")?.ms ?? null,
      appStartToFirstHealthyMs,
      unnamedGap: matched ? unnamedGap(matched) : null,
      startupMs: matched?.startupMs ?? null,
      switchEpoch: switchStep?.endMs != null ? startEpoch + switchStep.endMs - switchStep.ms : null,
      switchEndEpoch: switchStep?.endMs != null ? startEpoch + switchStep.endMs : null,
      pipRan: steps.some((s) => s.step.includes("pip")),
      warmRollback: kind === "rollback" ? !steps.some((s) => s.step === "health") : undefined,
      agentOverheadWallMs: kind === "deploy" && healthMs !== null ? wallMs - healthMs : null,
      agentOverheadToSwitchMs:
        kind === "deploy" && healthMs !== null && switchConfirmedMs !== null
          ? switchConfirmedMs - healthMs
          : null,
      drainDeadlineEpoch:
        switchConfirmedMs !== null
          ? startEpoch + switchConfirmedMs + Math.max(SWITCH.grace, SWITCH.drain) * 1000
          : null,
    });
  }

  async naiveOp(
    run: number,
    kind: "deploy" | "rollback",
    fromVersion: string,
    expectVersion: string,
    script: string,
    prepMs: number,
  ) {
    const startSnap = await this.tap.snapshot();
    const startEpoch = Date.now();
    const r = await this.server.sh(script);
    const endEpoch = Date.now();
    return this.finishOp({
      phase: "naive",
      hostLoad1: os.loadavg()[0] ?? null,
      run,
      op: kind,
      command: script,
      expectVersion,
      fromVersion,
      exitCode: r.exitCode,
      startEpoch,
      endEpoch,
      wallMs: endEpoch - startEpoch,
      readyEpoch: null,
      timeToNewVersionMs: null,
      webBackMs: null,
      error: r.exitCode === 0 ? null : `exit ${r.exitCode}`,
      stdout: r.stdout.trim(),
      stderrTail: r.exitCode === 0 ? "" : tail(r.stderr),
      prepMs,
      startSnap,
      switchEpoch: startEpoch,
      switchEndEpoch: endEpoch,
    });
  }
}
