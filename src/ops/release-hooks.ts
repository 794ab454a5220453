// [hooks]: release steps (migrations, smoke tests) run as the app user in a transient unit, with the
// slot's venv and the app's environment, writing only the data dir.
import path from "node:path";
import type { Color } from "../config/types.js";
import type { Context } from "../context.js";
import { RfError } from "../errors.js";
import type { RunOptions } from "../exec/runner.js";
import { runtimeSec, systemdExitReason } from "../exec/sandbox.js";
import { envFilesFor, loadAppEnv } from "./env.js";

export type HookName = "pre_switch" | "post_switch" | "post_rollback";

function commandOf(ctx: Context, hook: HookName): string {
  const h = ctx.config.hooks;
  return hook === "pre_switch" ? h.preSwitch : hook === "post_switch" ? h.postSwitch : h.postRollback;
}

/**
 * How a hook runs: `sh -c` as the app user in the color's checkout, sandboxed like the services (code
 * and venv read-only, the data dir writable, the whole process tree gone at the timeout or when the
 * shell exits). The env files reach it through systemd's EnvironmentFile=, never a command line, and
 * win over the plain variables here, as they do for the services.
 */
export function hookRun(
  ctx: Context,
  hook: HookName,
  color: Color,
  sha: string,
): { file: string; args: string[]; options: RunOptions } | null {
  const command = commandOf(ctx, hook);
  if (!command || !ctx.user) return null;
  const venv = ctx.layout.venv(color);
  const dataDir = ctx.layout.dataDir;
  return {
    file: "/bin/sh",
    args: ["-c", command],
    options: {
      as: ctx.user,
      sandbox: {
        unit: `rf-agent-${ctx.config.app.name}-hook`,
        writable: [dataDir],
        envFiles: envFilesFor(ctx, color),
      },
      cwd: ctx.layout.checkout(color),
      // Plain values only (they are on systemd-run's command line); HOME as the services have it.
      env: {
        PATH: `${path.join(venv, "bin")}:/usr/local/bin:/usr/bin:/bin`,
        HOME: dataDir,
        VIRTUAL_ENV: venv,
        RF_APP: ctx.config.app.name,
        RF_COLOR: color,
        RF_SHA: sha,
        RF_HOOK: hook,
        RF_DATA_DIR: dataDir,
      },
      timeoutMs: ctx.config.hooks.timeoutSec * 1000,
      reject: false,
    },
  };
}

/** Runs the hook if configured; output goes to the log line by line. Throws RfError HOOK on failure. */
export async function runHook(ctx: Context, hook: HookName, color: Color, sha: string): Promise<boolean> {
  const how = hookRun(ctx, hook, color, sha);
  if (!how) return false;
  // The env files checked (owner, mode, no links) before systemd reads them for the hook, and their
  // secrets registered for scrubbing; the values themselves go to the hook only through systemd.
  await loadAppEnv(ctx, color);
  const r = await ctx.run(how.file, how.args, how.options);
  for (const line of `${r.stdout}\n${r.stderr}`.split("\n").filter((l) => l.trim())) {
    ctx.log.info({ hook }, `${hook}: ${line}`);
  }
  if (r.exitCode !== 0) {
    const command = commandOf(ctx, hook);
    const reason = systemdExitReason(r.exitCode);
    const why = r.timedOut
      ? `timed out after ${runtimeSec(ctx.config.hooks.timeoutSec)} s (everything it started was stopped)`
      : `exited with status ${r.exitCode}${reason ? ` (${reason})` : ""}`;
    throw new RfError("HOOK", `the ${hook} hook \`${command}\` ${why}`, {
      hint:
        hook === "pre_switch"
          ? "nothing was switched; fix the hook or the release (its output is in the log above), then deploy again"
          : "the switch itself stands; fix the hook, and run its work by hand if it matters",
      details: `${r.stderr || r.stdout}`.trim().split("\n").slice(-10).join("\n"),
    });
  }
  return true;
}
