// A RecordedRun without the lock and the ledger, for driving ops/execute.ts directly.
import type { Context } from "../../../src/context.js";
import type { Release } from "../../../src/core/plan.js";
import type { RecordedRun } from "../../../src/ops/recorded.js";
import { Steps } from "../../../src/ops/steps.js";

export function fakeRun(ctx: Context, steps = new Steps(ctx.log)) {
  const learned: { from: Release | null; to: Release | null }[] = [];
  const run: RecordedRun = {
    id: "0000cafe",
    ctx,
    steps,
    trigger: "manual",
    learn: (from, to) => void learned.push({ from, to }),
  };
  return { run, learned };
}
