// Runs a state-changing command under the app lock and records it in the history ledger.
import { randomBytes } from "node:crypto";
import { appendHistory, detectTrigger, type HistoryEntry } from "../adapters/history.js";
import { afterRun } from "./report.js";
import { acquireLock } from "../adapters/lock.js";
import type { Context } from "../context.js";
import { isRfError } from "../errors.js";
import { scrubAppEnv } from "./env.js";
import { Steps } from "./steps.js";
import type { Color } from "../config/types.js";

export interface Outcome {
  outcome: string;
  from: { color: Color; sha: string } | null;
  to: { color: Color; sha: string } | null;
  exitCode: number;
}

export interface RecordedRun {
  id: string;
  steps: Steps;
  /** Filled in as the run learns them, so a failure is still recorded with what it knew. */
  from: Outcome["from"];
  to: Outcome["to"];
  /** Who started it; a deploy that serves webhook requests names their delivery here. */
  trigger: string;
}

async function record(ctx: Context, entry: HistoryEntry): Promise<void> {
  await appendHistory(ctx.layout.stateDir, entry);
  await afterRun(ctx, entry);
}

/** Runs fn holding the app lock; the lock is released however fn ends. */
export async function withLock<T>(
  ctx: Context,
  command: string,
  waitSec: number,
  fn: () => Promise<T>,
): Promise<T> {
  const lock = await acquireLock(
    ctx.run,
    ctx.layout.lockPath,
    ctx.layout.lockHolderPath,
    waitSec,
    `rf-agent ${command}`,
  );
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

export async function recorded(
  ctx: Context,
  command: string,
  waitSec: number,
  fn: (run: RecordedRun) => Promise<Outcome>,
): Promise<Outcome> {
  return withLock(ctx, command, waitSec, () => recordedRun(ctx, command, fn));
}

async function recordedRun(
  ctx: Context,
  command: string,
  fn: (run: RecordedRun) => Promise<Outcome>,
): Promise<Outcome> {
  const id = randomBytes(4).toString("hex");
  const baseLog = ctx.log;
  ctx.log = baseLog.child({ deploy: id });
  // Before any step can print, log or record one of the app's values.
  await scrubAppEnv(ctx);
  const trigger = detectTrigger(process.env);
  const run: RecordedRun = { id, steps: new Steps(() => ctx.log), from: null, to: null, trigger };
  const startedAt = ctx.now();
  ctx.log.info({ command, trigger }, `rf-agent ${command} (${trigger})`);
  const entry = (o: Pick<HistoryEntry, "from" | "to" | "outcome" | "exitCode" | "error">): HistoryEntry => ({
    id,
    command,
    trigger: run.trigger,
    startedAt: startedAt.toISOString(),
    ms: ctx.now().getTime() - startedAt.getTime(),
    ...o,
    steps: run.steps.records,
  });
  try {
    const result = await fn(run);
    const { from, to, outcome, exitCode } = result;
    await record(ctx, entry({ from, to, outcome, exitCode }));
    return result;
  } catch (e) {
    const outcome = isRfError(e) ? (e.exitCode === 3 ? "rolled-back" : "failed") : "crashed";
    const error = e instanceof Error ? e.message : String(e);
    const exitCode = isRfError(e) ? e.exitCode : 1;
    await record(ctx, entry({ from: run.from, to: run.to, outcome, exitCode, error })).catch(() => undefined);
    throw e;
  } finally {
    ctx.log = baseLog;
  }
}
