// Hooks as steps of a run: pre_switch aborts it, post_* only reports.
import type { Color } from "../config/types.js";
import type { Context } from "../context.js";
import { isRfError } from "../errors.js";
import { runHook, type HookName } from "./release-hooks.js";
import type { Steps } from "./steps.js";

export async function runPreSwitch(ctx: Context, steps: Steps, color: Color, sha: string): Promise<void> {
  if (!ctx.config.hooks.preSwitch) return;
  await steps.run("pre_switch hook", () => runHook(ctx, "pre_switch", color, sha));
}

/** A failing post hook is logged as a warning; the healthy switch stands. */
export async function runPostHook(
  ctx: Context,
  steps: Steps,
  hook: HookName,
  color: Color,
  sha: string,
): Promise<void> {
  const configured = hook === "post_switch" ? ctx.config.hooks.postSwitch : ctx.config.hooks.postRollback;
  if (!configured) return;
  try {
    await steps.run(`${hook} hook`, () => runHook(ctx, hook, color, sha));
  } catch (e) {
    ctx.log.warn(
      { hook, err: isRfError(e) ? e.message : String(e) },
      `${hook} hook failed; the switch stands: ${isRfError(e) ? e.message : String(e)}`,
    );
  }
}
