// Where a run's start-up goes, for history's `startup`: marks on Node's performance timeline (ms
// from the process's start), set by the entry point, the bundle loader and the lock.
import type { PerformanceEntry } from "node:perf_hooks";
import type { CodeCacheUse, StartupParts } from "../core/history.js";
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

export function mark(name: string, detail?: Record<string, string>): void {
  performance.mark(name, detail ? { detail } : undefined);
}

function lastMark(name: string): PerformanceEntry | undefined {
  const entries = performance.getEntriesByName(name, "mark");
  return entries[entries.length - 1];
}

/** The last time `name` was marked, in ms from the process's start; null if never. */
function markedAt(name: string): number | null {
  return lastMark(name)?.startTime ?? null;
}

/**
 * The parts of a start-up that ended at `runStart` (ms from the process's start), from the marks;
 * null when one is missing (the single executable, a test calling main directly).
 */
export function startupParts(runStart: number): StartupParts | null {
  const at = [MARK.cli, MARK.compiled, MARK.lockAsked, MARK.lockHeld].map(markedAt);
  if (at.some((t) => t === null)) return null;
  const [cli, compiled, asked, held] = at as number[];
  const points = [0, cli!, compiled!, asked!, held!, runStart];
  if (points.some((p, i) => i > 0 && p < points[i - 1]!)) return null;
  const ms = (i: number) => Math.round(points[i + 1]! - points[i]!);
  const detail = (lastMark(MARK.compiled) as { detail?: { cache?: unknown } | null } | undefined)?.detail;
  const cache = detail?.cache;
  return {
    node: ms(0),
    bundle: ms(1),
    ...(isCodeCache(cache) ? { codeCache: cache } : {}),
    setup: ms(2),
    lock: ms(3),
    env: ms(4),
  };
}

const CODE_CACHE_USES: readonly string[] = ["hit", "missing", "rejected", "off"];
const isCodeCache = (x: unknown): x is CodeCacheUse => typeof x === "string" && CODE_CACHE_USES.includes(x);
