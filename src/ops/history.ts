// The ledger of recorded runs (deploy, rollback, switch, discard), as commands read it.
import { readHistory, type HistoryEntry } from "../adapters/history.js";
import type { Context } from "../context.js";

export type { HistoryEntry };

/** Every recorded run of this app, oldest first. */
export async function runHistory(ctx: Context): Promise<HistoryEntry[]> {
  return readHistory(ctx.layout.stateDir);
}
