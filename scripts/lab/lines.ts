// The lines of a child's output as they arrive (load.mjs, the bench's poller, rf-agent's log).
import { once } from "node:events";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";

/**
 * Calls onLine for each line of the stream with the wall-clock ms it arrived at; resolves when the
 * stream ends (at once when there is no stream).
 */
export function eachLine(
  stream: Readable | null | undefined,
  onLine: (line: string, at: number) => void,
): Promise<void> {
  if (!stream) return Promise.resolve();
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  lines.on("line", (line: string) => onLine(line, Date.now()));
  return once(lines, "close").then(() => undefined);
}
