// rf-agent's log as records, not text: off a terminal it writes one JSON object per line on stderr
// (pino: level, time, msg and fields such as step, ms, color, deploy). Tests, the bench and the demo
// read the fields; the wording of a line is for people and may change.

/** One JSON log line of rf-agent. */
export interface LogRecord {
  level?: number;
  time?: number;
  msg?: string;
  step?: string;
  ms?: number;
  deploy?: string;
  [field: string]: unknown;
}

/** pino's levels. */
export const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const;

/** Parses one line; undefined when it is not a JSON object (e.g. a child's output let through). */
export function logRecord(line: string): LogRecord | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const rec = JSON.parse(line) as unknown;
    return rec !== null && typeof rec === "object" && !Array.isArray(rec) ? (rec as LogRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** Every JSON record in a stderr capture, in order. */
export function logRecords(stderr: string): LogRecord[] {
  return stderr.split("\n").flatMap((line): LogRecord[] => {
    const rec = logRecord(line);
    return rec ? [rec] : [];
  });
}

/** A step beginning (logged at debug, so only with -v): the step's name, no duration yet. */
export const stepStarted =
  (...steps: string[]) =>
  (rec: LogRecord): boolean =>
    rec.step !== undefined && steps.includes(rec.step) && rec.ms === undefined;

/** A step that finished and succeeded: its name and duration, at info level. */
export function isStepDone(rec: LogRecord): rec is LogRecord & { step: string; ms: number } {
  return typeof rec.step === "string" && typeof rec.ms === "number" && rec.level === LEVEL.info;
}

/** The line that says this step finished and succeeded. */
export const stepDone =
  (step: string) =>
  (rec: LogRecord): boolean =>
    isStepDone(rec) && rec.step === step;

/** A step that finished and failed: its name and duration, at error level. */
export const stepFailed =
  (step: string) =>
  (rec: LogRecord): boolean =>
    rec.step === step && typeof rec.ms === "number" && rec.level === LEVEL.error;

/** Names of the steps that finished, in order, ok or not. */
export function finishedSteps(records: LogRecord[]): string[] {
  return records.flatMap((r) => (r.step !== undefined && typeof r.ms === "number" ? [r.step] : []));
}
