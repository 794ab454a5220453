// pino logger whose output suits where it goes: the journal, a terminal, or a pipe.
import { fstatSync } from "node:fs";
import { pino, type Logger as PinoLogger, type DestinationStream } from "pino";
import { printable, printableLine } from "./core/printable.js";

export type Logger = PinoLogger;

// sd-daemon(3) priorities, so `journalctl -p warning` filters rf-agent's lines.
const PRIORITY: Record<number, number> = { 10: 7, 20: 7, 30: 6, 40: 4, 50: 3, 60: 2 };
const LEVEL_NAME: Record<number, string> = {
  10: "trace",
  20: "debug",
  30: "info",
  40: "WARN",
  50: "ERROR",
  60: "FATAL",
};
const HIDDEN = new Set(["level", "time", "pid", "hostname", "msg", "deploy", "app"]);

export const REDACT_PATHS = [
  "secret",
  "token",
  "password",
  "*.secret",
  "*.token",
  "*.password",
  "env",
  "*.env",
  "headers.authorization",
];

/** True when fd is the journal stream systemd connected us to (see systemd.exec JOURNAL_STREAM). */
export function isJournalStream(fd: number, journalStream = process.env.JOURNAL_STREAM): boolean {
  if (!journalStream) return false;
  const [dev, ino] = journalStream.split(":");
  try {
    const st = fstatSync(fd);
    return String(st.dev) === dev && String(st.ino) === ino;
  } catch {
    return false;
  }
}

export function journalLine(line: string): string {
  const level = Number(/"level":(\d+)/.exec(line)?.[1] ?? 30);
  return `<${PRIORITY[level] ?? 6}>${line}`;
}

/**
 * One readable line for a terminal: time, level (if not info), message, then the interesting fields.
 * JSON escapes control characters; unescaped here, they are stripped (hook output, commit subjects).
 */
export function prettyLine(line: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return printable(line);
  }
  const time = new Date(Number(rec.time ?? Date.now())).toISOString().slice(11, 19);
  const level = Number(rec.level ?? 30);
  const tag = level >= 40 || level < 30 ? `${LEVEL_NAME[level] ?? level} ` : "";
  const fields = Object.entries(rec)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
  return `${printableLine(`${time} ${tag}${String(rec.msg ?? "")}${fields ? `  ${fields}` : ""}`)}\n`;
}

// Values of the app's env files (see isScrubbed in core/env-file.ts), scrubbed from every log line
// (hook output included), printed error, history entry and notification before it leaves. Longest
// first, so a value that contains another is scrubbed whole.
let secrets: string[] = [];
const MIN_SECRET = 4;
const REDACTED = "[redacted]";

export function addSecret(value: string): void {
  if (value.length < MIN_SECRET || secrets.includes(value)) return;
  secrets = [...secrets, value].sort((a, b) => b.length - a.length);
}

/** Plain text with every registered value replaced, also where JSON escaped it. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const s of secrets) {
    out = out.split(s).join(REDACTED);
    const json = JSON.stringify(s).slice(1, -1);
    if (json !== s) out = out.split(json).join(REDACTED);
  }
  return out;
}

/** A copy of a JSON-like value with every string in it (not the keys) scrubbed. */
export function scrubDeep<T>(value: T): T {
  if (secrets.length === 0) return value;
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return redactSecrets(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === "object")
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as T;
}

// A JSON log line is scrubbed value by value: a plain value such as "deploy" must not rename the
// field `logs --deploy` filters on, nor break the line's JSON.
function scrubLine(line: string): string {
  if (secrets.length === 0) return line;
  if (line.startsWith("{")) {
    try {
      return `${JSON.stringify(scrubDeep(JSON.parse(line) as unknown))}\n`;
    } catch {
      // not one JSON object: scrubbed as text below
    }
  }
  return redactSecrets(line);
}

function lineStream(fd: number, transform: (line: string) => string): DestinationStream {
  const out = fd === 1 ? process.stdout : process.stderr;
  return { write: (chunk: string) => void out.write(transform(scrubLine(chunk))) };
}

export interface LogOptions {
  level?: string;
  /** Tests pass a sink to capture lines. */
  stream?: DestinationStream;
}

export function createLogger(options: LogOptions = {}): Logger {
  const fd = 2;
  const sink = options.stream;
  const stream =
    (sink && { write: (chunk: string) => sink.write(scrubLine(chunk)) }) ??
    (isJournalStream(fd)
      ? lineStream(fd, journalLine)
      : process.stderr.isTTY
        ? lineStream(fd, prettyLine)
        : lineStream(fd, (l) => l));
  return pino(
    {
      level: options.level ?? process.env.RF_AGENT_LOG_LEVEL ?? "info",
      base: { app: undefined },
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    },
    stream,
  );
}
