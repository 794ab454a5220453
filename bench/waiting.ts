// Waiting: sleep, wait for a condition, and the bench's progress lines on stderr.
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
