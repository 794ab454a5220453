// Runs a state-changing command under the app lock and records it in the history ledger.
import { randomHex } from "../exec/random.js";
import { MARK, mark, startupParts, uptimeMs } from "../boot/start-marks.js";
import { appendHistory, detectTrigger, type HistoryEntry } from "../adapters/history.js";
import { afterRun } from "./report.js";
import { acquireLock } from "../adapters/lock.js";
import type { Context } from "../context.js";
import { isRfError } from "../errors.js";
import { scrubAppEnv } from "./env.js";
import { Steps } from "./steps.js";
import type { Release } from "../core/plan.js";

export type { Release };

/** How a state-changing command ended; a failure is an RfError thrown instead. */
export type Outcome =
  | {
      outcome: "deployed" | "rolled-back" | "switched" | "staged";
      from: Release | null;
      to: Release;
      exitCode: 0;
    }
  | { outcome: "unchanged"; from: Release | null; to: Release | null; exitCode: 0 }
  | { outcome: "discarded"; from: Release | null; to: Release | null; exitCode: 0 }
  | { outcome: "dry-run"; from: Release | null; to: Release; exitCode: 0 };

export interface RecordedRun {
  id: string;
  /** The command's context, logging with the run's id. */
  ctx: Context;
  steps: Steps;
  /** Who started it; a deploy that serves webhook requests names their delivery here. */
  trigger: string;
  /**
   * What a failure is recorded with (from, to), told as soon as it is known: the executor tells it
   * when a plan starts and when the fetch finds the commit.
   */
  learn(from: Release | null, to: Release | null): void;
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
  mark(MARK.lockAsked);
  const lock = await acquireLock(
    ctx.run,
    ctx.layout.lockPath,
    ctx.layout.lockHolderPath,
    waitSec,
    `rf-agent ${command}`,
  );
  mark(MARK.lockHeld);
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
  const id = randomHex(4);
  const runCtx: Context = { ...ctx, log: ctx.log.child({ deploy: id }) };
  // Before any step can print, log or record one of the app's values.
  await scrubAppEnv(runCtx);
  let known: { from: Release | null; to: Release | null } = { from: null, to: null };
  // performance.now() counts from the process's start: node, loading, the config and the lock come before.
  const origin = performance.now();
  const startup = startupParts(uptimeMs());
  const run: RecordedRun = {
    id,
    ctx: runCtx,
    steps: new Steps(runCtx.log, origin),
    trigger: detectTrigger(process.env),
    learn: (from, to) => (known = { from, to }),
  };
  const startedAt = ctx.now();
  runCtx.log.info({ command, trigger: run.trigger }, `rf-agent ${command} (${run.trigger})`);
  const entry = (o: Pick<HistoryEntry, "from" | "to" | "outcome" | "exitCode" | "error">): HistoryEntry => ({
    id,
    command,
    trigger: run.trigger,
    startedAt: startedAt.toISOString(),
    ms: ctx.now().getTime() - startedAt.getTime(),
    startupMs: Math.round(origin),
    ...(startup ? { startup } : {}),
    ...o,
    steps: run.steps.records,
  });
  try {
    const result = await fn(run);
    const { from, to, outcome, exitCode } = result;
    await record(runCtx, entry({ from, to, outcome, exitCode }));
    return result;
  } catch (e) {
    const outcome = isRfError(e) ? (e.exitCode === 3 ? "rolled-back" : "failed") : "crashed";
    const error = e instanceof Error ? e.message : String(e);
    const exitCode = isRfError(e) ? e.exitCode : 1;
    await record(runCtx, entry({ ...known, outcome, exitCode, error })).catch(() => undefined);
    throw e;
  }
}
