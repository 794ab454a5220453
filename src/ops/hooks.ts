// [hooks]: release steps (migrations, smoke tests) run as the app user, in a slot, with its venv and environment.
import path from "node:path";
import type { Color } from "../config/types.js";
import type { Context } from "../context.js";
import { RfError } from "../errors.js";
import { loadAppEnv } from "./env.js";

export type HookName = "pre_switch" | "post_switch" | "post_rollback";

function commandOf(ctx: Context, hook: HookName): string {
  const h = ctx.config.hooks;
  return hook === "pre_switch" ? h.preSwitch : hook === "post_switch" ? h.postSwitch : h.postRollback;
}

/** Runs the hook if configured; output goes to the log line by line. Throws RfError HOOK on failure. */
export async function runHook(ctx: Context, hook: HookName, color: Color, sha: string): Promise<boolean> {
  const command = commandOf(ctx, hook);
  if (!command || !ctx.user) return false;
  const venv = ctx.layout.venv(color);
  const env = {
    ...(await loadAppEnv(ctx, color)),
    PATH: `${path.join(venv, "bin")}:/usr/local/bin:/usr/bin:/bin`,
    VIRTUAL_ENV: venv,
    RF_APP: ctx.config.app.name,
    RF_COLOR: color,
    RF_SHA: sha,
    RF_HOOK: hook,
  };
  const r = await ctx.run("/bin/sh", ["-c", command], {
    as: ctx.user,
    cwd: ctx.layout.checkout(color),
    env,
    timeoutMs: ctx.config.hooks.timeoutSec * 1000,
    reject: false,
  });
  for (const line of `${r.stdout}\n${r.stderr}`.split("\n").filter((l) => l.trim())) {
    ctx.log.info({ hook }, `${hook}: ${line}`);
  }
  if (r.exitCode !== 0) {
    throw new RfError("HOOK", `the ${hook} hook \`${command}\` exited with status ${r.exitCode}`, {
      hint:
        hook === "pre_switch"
          ? "nothing was switched; fix the hook or the release (its output is in the log above), then deploy again"
          : "the switch itself stands; fix the hook, and run its work by hand if it matters",
      details: `${r.stderr || r.stdout}`.trim().split("\n").slice(-10).join("\n"),
    });
  }
  return true;
}
