// The append-only ledger of recorded runs (JSON lines under the state dir; its entries: core/history.ts).
import { appendFile, open } from "node:fs/promises";
import path from "node:path";
import { ensureDir, readIfExists } from "./files.js";
import { scrubDeep } from "../log.js";
import type { HistoryEntry } from "../core/history.js";

export type { HistoryEntry };

export function historyPath(stateDir: string): string {
  return path.join(stateDir, "history.jsonl");
}

/** Appends one entry, every env-file value scrubbed from it (an error message may quote one). */
export async function appendHistory(stateDir: string, entry: HistoryEntry): Promise<void> {
  await ensureDir(stateDir, 0o700);
  const file = historyPath(stateDir);
  await appendFile(file, JSON.stringify(scrubDeep(entry)) + "\n", { mode: 0o600 });
  const handle = await open(file, "r");
  await handle.sync().finally(() => handle.close());
}

export async function readHistory(stateDir: string): Promise<HistoryEntry[]> {
  const text = await readIfExists(historyPath(stateDir));
  if (!text) return [];
  return text
    .split("\n")
    .filter((l) => l.trim())
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as HistoryEntry];
      } catch {
        return [];
      }
    });
}

/** Who started this run: the unit that ran us, or the person behind sudo/SSH. */
export function detectTrigger(env: NodeJS.ProcessEnv): string {
  if (env.RF_AGENT_TRIGGER) return env.RF_AGENT_TRIGGER;
  const who = env.SUDO_USER ?? env.USER ?? env.LOGNAME ?? "unknown";
  const ssh = env.SSH_CONNECTION ? ` via ssh from ${env.SSH_CONNECTION.split(" ")[0]}` : "";
  return `cli (${who}${ssh})`;
}
