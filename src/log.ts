// pino logger whose output suits where it goes: the journal, a terminal, or a pipe.
import { fstatSync } from "node:fs";
import { pino, type Logger as PinoLogger, type DestinationStream } from "pino";
import { openJournal, type JournalSink } from "./adapters/journal.js";
import { clockTime, journalFields, PRIORITY, readableMessage } from "./core/journal-entry.js";
import { printable } from "./core/printable.js";

export type Logger = PinoLogger;

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
  return `${clockTime(Number(rec.time ?? Date.now()))} ${readableMessage(rec)}\n`;
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

// pino writes a field twice when a child logger binds a key its parent bound too ("color" of the
// deploy, then of the step): parsed and written again, the line has each key once, the last value.
function oneKeyEach(line: string): string {
  if (!line.startsWith("{")) return line;
  try {
    return `${JSON.stringify(JSON.parse(line))}\n`;
  } catch {
    return line;
  }
}

function lineStream(fd: number, transform: (line: string) => string): DestinationStream {
  const out = fd === 1 ? process.stdout : process.stderr;
  return { write: (chunk: string) => void out.write(transform(oneKeyEach(scrubLine(chunk)))) };
}

let journal: JournalSink | null = null;

// Under systemd: each line one journal entry of its own, with a readable MESSAGE and RF_* fields;
// where the journal socket or python3 is missing, the JSON line on the journal stream as before.
function journalStream(fd: number): DestinationStream {
  journal = openJournal();
  const fallback = lineStream(fd, journalLine);
  return {
    write: (chunk: string) => {
      const line = scrubLine(chunk);
      let rec: Record<string, unknown> | null = null;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        // not a record: written as it is
      }
      if (!rec || !journal?.write(journalFields(rec))) fallback.write(line);
    },
  };
}

/** Waits until every line logged so far is in the journal; call before the process exits. */
export async function flushLogs(): Promise<void> {
  await journal?.close();
  journal = null;
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
    (sink && { write: (chunk: string) => sink.write(oneKeyEach(scrubLine(chunk))) }) ??
    (isJournalStream(fd)
      ? journalStream(fd)
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
