// The shape of the ledger of recorded runs (history.jsonl): one entry per deploy, rollback, switch
// or discard. Written and read by src/adapters/history.ts; metrics and reports derive from it.

/** One step of a run: its name, how long it took, whether it finished. */
export interface StepRecord {
  step: string;
  ms: number;
  ok: boolean;
  /** ms from the run's start to the step's start (steps that run together overlap) */
  at?: number;
}

/** What became of V8's code cache for a command: used, none yet, refused by V8, or not used. */
export const CODE_CACHE_USES = ["hit", "missing", "rejected", "off"] as const;
export type CodeCacheUse = (typeof CODE_CACHE_USES)[number];

/** A run's start-up (startupMs) in parts that add up to it, ms each. */
export interface StartupParts {
  /** node's own start and loading the entry point */
  node: number;
  /** reading and compiling the bundle (from V8's code cache when there is one) */
  bundle: number;
  /** what became of V8's code cache for this command: used, none yet, refused by V8, or not used */
  codeCache?: CodeCacheUse;
  /** running it: arguments, the config, the logger, up to asking for the lock */
  setup: number;
  /** waiting for the app lock */
  lock: number;
  /** from the lock to the run's start: the app's variables read for scrubbing */
  env: number;
}

export interface HistoryEntry {
  id: string;
  command: string;
  trigger: string;
  startedAt: string;
  ms: number;
  /** ms from the process's start to the run's start: node, loading, the config, waiting for the lock */
  startupMs?: number;
  /** startupMs in its parts, when the process marked them (boot/start-marks.ts) */
  startup?: StartupParts;
  from: { color: string; sha: string } | null;
  to: { color: string; sha: string } | null;
  outcome: string;
  exitCode: number;
  error?: string;
  steps: StepRecord[];
}
