// Journal entries (`journalctl -o json`) of the agent's and the app's units: parsed, filtered by
// deploy id or color, and printed readably. Pure, so `rf-agent logs` is a thin loop around it.
import { printableLine } from "./printable.js";
import { clockTime, readableMessage } from "./journal-entry.js";

export interface Entry {
  /** ms since the epoch */
  time: number;
  unit: string;
  message: string;
  /** syslog priority, 6 (info) when absent */
  priority: number;
  /** One run of a unit: every line one deploy process wrote shares it. */
  invocation: string | null;
  /** RF_COLOR of an app unit's line, or the color field of an agent JSON line. */
  color: string | null;
  /** The deploy id field of an agent JSON line. */
  deploy: string | null;
  /** The pino record when the message is one. */
  record: Record<string, unknown> | null;
}

/** The fields journalctl needs to print (-o json --output-fields=...). */
export const FIELDS = [
  "MESSAGE",
  "PRIORITY",
  "_SYSTEMD_UNIT",
  "_SYSTEMD_INVOCATION_ID",
  "RF_COLOR",
  "RF_DEPLOY",
  "RF_JSON",
  "SYSLOG_IDENTIFIER",
];

function text(value: unknown): string | null {
  if (typeof value === "string") return value;
  // journalctl prints a field that is not valid UTF-8 as an array of byte values.
  if (Array.isArray(value) && value.every((b) => typeof b === "number"))
    return Buffer.from(value).toString("utf8");
  return null;
}

function pinoRecord(message: string): Record<string, unknown> | null {
  if (!message.startsWith("{")) return null;
  try {
    const rec: unknown = JSON.parse(message);
    return rec && typeof rec === "object" && !Array.isArray(rec) && "msg" in rec
      ? (rec as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

export function parseEntry(line: string): Entry | null {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (!raw || typeof raw !== "object") return null;
  const message = text(raw.MESSAGE);
  if (message === null) return null;
  // An entry rf-agent sent natively carries its record in RF_JSON; older ones in MESSAGE.
  const json = text(raw.RF_JSON);
  const record = (json !== null ? pinoRecord(json) : null) ?? pinoRecord(message);
  const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : null);
  return {
    time: Math.floor(Number(raw.__REALTIME_TIMESTAMP ?? 0) / 1000),
    unit: str(raw._SYSTEMD_UNIT) ?? str(raw.SYSLOG_IDENTIFIER) ?? "?",
    message,
    priority: Number(raw.PRIORITY ?? 6),
    invocation: str(raw._SYSTEMD_INVOCATION_ID),
    color: str(raw.RF_COLOR) ?? str(record?.color),
    deploy: str(raw.RF_DEPLOY) ?? str(record?.deploy),
    record,
  };
}

/**
 * Lines of one deploy: every line of each unit run that logged that deploy id, so plain lines of the
 * same run (what it printed, its error paragraph) come along. For `--follow`, one entry at a time.
 */
export class DeployFilter {
  private readonly runs = new Set<string>();
  constructor(private readonly id: string) {}

  pass(e: Entry): boolean {
    if (e.deploy === this.id && e.invocation) this.runs.add(e.invocation);
    return e.deploy === this.id || (e.invocation !== null && this.runs.has(e.invocation));
  }

  /** Over a finished list: also the lines a run wrote before its first line with the id. */
  select(entries: Entry[]): Entry[] {
    for (const e of entries) this.pass(e);
    return entries.filter((e) => this.pass(e));
  }
}

export function colorFilter(color: string): (e: Entry) => boolean {
  return (e) => e.color === color;
}

const TAG: Record<number, string> = { 0: "FATAL ", 1: "FATAL ", 2: "FATAL ", 3: "ERROR ", 4: "WARN " };

/**
 * One readable line; with `unit`, the unit is named (when lines of several units mix). The app's
 * lines are the app's words: no escape sequence or line break of theirs reaches the terminal.
 */
export function formatEntry(e: Entry, opts: { unit?: boolean } = {}): string {
  const body = e.record ? readableMessage(e.record) : `${TAG[e.priority] ?? ""}${e.message}`;
  return printableLine(
    `${clockTime(e.time)} ${opts.unit ? `${e.unit.replace(/\.service$/, "")}  ` : ""}${body}`,
  );
}
