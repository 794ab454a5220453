// Waiting and watching: sleep, wait for a condition, the lines of a stream as they arrive, and the
// bench's progress lines on stderr.
import { READY_TIMEOUT_MS } from "./settings.js";

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const say = (line: string) => process.stderr.write(`bench: ${line}\n`);

export async function waitFor(
  what: string,
  check: () => boolean,
  timeoutMs = READY_TIMEOUT_MS,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(25);
  }
  return Date.now();
}

export function lineReader(stream: NodeJS.ReadableStream, onLine: (line: string, at: number) => void): void {
  let buf = "";
  stream.on("data", (chunk: Buffer | string) => {
    const at = Date.now();
    buf += chunk.toString();
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      onLine(line, at);
    }
  });
}
