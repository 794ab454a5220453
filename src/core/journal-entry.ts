// A pino record as a journal entry: a MESSAGE a person reads, and the structure as fields a user
// can query (`journalctl RF_DEPLOY=3f9c2a1b`), encoded in journald's native protocol.
import { printableLine } from "./printable.js";

// sd-daemon(3) priorities, so `journalctl -p warning` filters rf-agent's lines.
export const PRIORITY: Record<number, number> = { 10: 7, 20: 7, 30: 6, 40: 4, 50: 3, 60: 2 };
const LEVEL_NAME: Record<number, string> = {
  10: "trace",
  20: "debug",
  30: "info",
  40: "WARN",
  50: "ERROR",
  60: "FATAL",
};
// Said by the entry itself (timestamp, priority, unit) or as a field of its own.
const NOT_IN_MESSAGE = new Set(["level", "time", "pid", "hostname", "msg", "deploy", "app"]);
const NOT_A_FIELD = new Set(["level", "time", "pid", "hostname", "msg"]);
/** journald refuses larger entries over a datagram; a message this long is cut. */
const MAX_VALUE = 48 * 1024;

function show(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** The time of day (UTC) a readable line starts with: 13:04:05. */
export function clockTime(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

/** "✓ health (2.1 s)  color=green": the level (if not info), the message, then the other fields. */
export function readableMessage(rec: Record<string, unknown>): string {
  const level = Number(rec.level ?? 30);
  const tag = level >= 40 || level < 30 ? `${LEVEL_NAME[level] ?? level} ` : "";
  const fields = Object.entries(rec)
    .filter(([k]) => !NOT_IN_MESSAGE.has(k))
    .map(([k, v]) => `${k}=${show(v)}`)
    .join(" ");
  return printableLine(`${tag}${String(rec.msg ?? "")}${fields ? `  ${fields}` : ""}`);
}

/** `deploy` → RF_DEPLOY: journal field names are A-Z, 0-9 and _, at most 64 characters. */
export function fieldName(key: string): string {
  return `RF_${key
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toUpperCase()
    .replace(/[^A-Z0-9_]/g, "_")}`.slice(0, 64);
}

/** The entry's fields, in order: MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, RF_* of every field, RF_JSON. */
export function journalFields(rec: Record<string, unknown>, identifier = "rf-agent"): [string, string][] {
  const fields: [string, string][] = [
    ["MESSAGE", readableMessage(rec)],
    ["PRIORITY", String(PRIORITY[Number(rec.level ?? 30)] ?? 6)],
    ["SYSLOG_IDENTIFIER", identifier],
  ];
  for (const [k, v] of Object.entries(rec)) {
    if (!NOT_A_FIELD.has(k) && v !== undefined && v !== null) fields.push([fieldName(k), show(v)]);
  }
  // The whole record, for `rf-agent logs` (it shows the structure as it was logged).
  fields.push(["RF_JSON", JSON.stringify(rec)]);
  return fields.map(([k, v]) => [k, v.length > MAX_VALUE ? `${v.slice(0, MAX_VALUE)}…` : v]);
}

/**
 * journald's native protocol (systemd.journal-native-protocol(7)): KEY=value lines; a value with a
 * line break as KEY, newline, its length as 64-bit little endian, the bytes, newline.
 */
export function encodeNative(fields: [string, string][]): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of fields) {
    const bytes = Buffer.from(value, "utf8");
    if (!value.includes("\n")) {
      parts.push(Buffer.from(`${key}=`), bytes, Buffer.from("\n"));
      continue;
    }
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(bytes.length));
    parts.push(Buffer.from(`${key}\n`), len, bytes, Buffer.from("\n"));
  }
  return Buffer.concat(parts);
}
