// Where a run's start-up goes, for history's `startup`: marks in ms from the process's start, set by
// the entry point, the bundle loader and the lock. Kept on a global (cli.js and the bundle each have
// their own copy of this module) and timed with process.uptime(): Node's `performance` would load
// perf_hooks into every command for them.
import { CODE_CACHE_USES, type CodeCacheUse, type StartupParts } from "../core/history.js";

export const MARK = {
  /** dist/cli.js runs: node has started and loaded the entry point. */
  cli: "rf-agent:cli",
  /** The bundle is read and compiled (from V8's code cache when there is one). */
  compiled: "rf-agent:compiled",
  /** The command asks for the app lock. */
  lockAsked: "rf-agent:lock-asked",
  /** The command holds the app lock. */
  lockHeld: "rf-agent:lock-held",
} as const;

interface Mark {
  at: number;
  detail?: Record<string, string>;
}

const STORE = Symbol.for("rf-agent.start-marks");

function marks(): Record<string, Mark> {
  const g = globalThis as { [STORE]?: Record<string, Mark> };
  return (g[STORE] ??= {});
}

/** ms since the process started, on the marks' clock. */
export function uptimeMs(): number {
  return process.uptime() * 1000;
}

/** Marks `name` now (again: the latest counts), with what the caller knows then. */
export function mark(name: string, detail?: Record<string, string>): void {
  marks()[name] = { at: uptimeMs(), ...(detail ? { detail } : {}) };
}

/** When `name` was last marked, in ms from the process's start; null if never. */
export function markedAt(name: string): number | null {
  return marks()[name]?.at ?? null;
}

/** Forgets every mark (tests). */
export function clearMarks(): void {
  for (const name of Object.keys(marks())) delete marks()[name];
}

const isCodeCache = (x: unknown): x is CodeCacheUse =>
  typeof x === "string" && (CODE_CACHE_USES as readonly string[]).includes(x);

/**
 * The parts of a start-up that ended at `runStart` (uptimeMs), from the marks; null when one is
 * missing (the single executable, a test calling main directly) or they are out of order.
 */
export function startupParts(runStart: number): StartupParts | null {
  const at = [MARK.cli, MARK.compiled, MARK.lockAsked, MARK.lockHeld].map(markedAt);
  if (at.some((t) => t === null)) return null;
  const points = [0, ...(at as number[]), runStart];
  if (points.some((p, i) => i > 0 && p < points[i - 1]!)) return null;
  const ms = (i: number) => Math.round(points[i + 1]! - points[i]!);
  const cache = marks()[MARK.compiled]?.detail?.cache;
  return {
    node: ms(0),
    bundle: ms(1),
    ...(isCodeCache(cache) ? { codeCache: cache } : {}),
    setup: ms(2),
    lock: ms(3),
    env: ms(4),
  };
}
