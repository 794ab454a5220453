// rf-agent's record of the slots (what each color holds, which is live), as commands write it;
// reading it, with what the host says, is src/ops/reconcile.ts.
import { saveState } from "../adapters/state-store.js";
import type { Context } from "../context.js";
import type { State } from "../core/state.js";

export async function writeState(ctx: Context, state: State): Promise<void> {
  await saveState(ctx.layout, state);
}
