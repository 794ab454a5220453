// The one JSON object `rf-agent deploy|rollback --json` prints on stdout: what the run did, from the
// Outcome the command returned (or the error it threw) and the history entry the run recorded.
// Ansible's command tasks read it to set changed/failed honestly (ansible/README.md).
import type { HistoryEntry, StepRecord } from "./history.js";
import { isRfError } from "../errors.js";

type Slot = { color: string; sha: string } | null;

export interface RunReport {
  command: string;
  /** The live version changed, or a release was staged: false for "unchanged", dry runs and failures. */
  changed: boolean;
  outcome: string;
  /** The process's exit code (README "Exit codes"), unchanged by --json. */
  exitCode: number;
  from: Slot;
  to: Slot;
  /** The history entry's id (`rf-agent logs --deploy ID`), null when the run recorded none. */
  id: string | null;
  startedAt: string | null;
  ms: number | null;
  steps: StepRecord[];
  error: { code: string; message: string; hint: string | null } | null;
}

/** What a command returned. */
export interface RunOutcome {
  outcome: string;
  from: Slot;
  to: Slot;
  exitCode: number;
}

const CHANGING = new Set(["deployed", "rolled-back", "staged"]);

/**
 * The history entry this run recorded: the newest of these commands (`rollback --to` records a
 * deploy) that started at or after `since`, when the process began the run. Runs hold the app lock,
 * so none of another process starts between.
 */
export function entryOfRun(
  entries: HistoryEntry[],
  commands: string[],
  since: Date,
): HistoryEntry | undefined {
  return entries.findLast((e) => commands.includes(e.command) && Date.parse(e.startedAt) >= since.getTime());
}

function timing(entry: HistoryEntry | undefined): Pick<RunReport, "id" | "startedAt" | "ms" | "steps"> {
  return {
    id: entry?.id ?? null,
    startedAt: entry?.startedAt ?? null,
    ms: entry?.ms ?? null,
    steps: entry?.steps ?? [],
  };
}

/** The report of a run that returned. */
export function reportOutcome(command: string, result: RunOutcome, entry?: HistoryEntry): RunReport {
  return {
    command,
    changed: result.exitCode === 0 && CHANGING.has(result.outcome),
    outcome: result.outcome,
    exitCode: result.exitCode,
    from: result.from,
    to: result.to,
    ...timing(entry),
    error: null,
  };
}

/** The report of a run that threw: its recorded from/to when it got that far, the error with its fix. */
export function reportFailure(command: string, error: unknown, entry?: HistoryEntry): RunReport {
  const rf = isRfError(error) ? error : undefined;
  const exitCode = rf?.exitCode ?? 1;
  return {
    command,
    changed: false,
    outcome: entry?.outcome ?? (exitCode === 3 ? "rolled-back" : "failed"),
    exitCode,
    from: entry?.from ?? null,
    to: entry?.to ?? null,
    ...timing(entry),
    error: {
      code: rf?.code ?? "INTERNAL",
      message: error instanceof Error ? error.message : String(error),
      hint: rf?.hint ?? null,
    },
  };
}
