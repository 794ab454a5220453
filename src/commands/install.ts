// rf-agent install / uninstall: the agent's own units for one app. The deploy service template, the
// timer ([trigger] schedule), the .path unit and the webhook listener. Install is idempotent: it
// writes, reloads and restarts only what changed; uninstall removes exactly what install wrote.
// Checking, planning and applying are src/ops/agent-units.ts (the plan is src/core/agent-units.ts);
// here they are reported.
import path from "node:path";
import type { Config } from "../config/types.js";
import type { Context } from "../context.js";
import { listenText, type TriggerLayout } from "../core/layout.js";
import {
  installAgentUnits,
  uninstallAgentUnits,
  type Installed,
  type InstallOptions,
  type Uninstalled,
} from "../ops/agent-units.js";

export async function install(
  ctx: Context,
  opts: InstallOptions & { print: (line: string) => void },
): Promise<number> {
  const installed = await installAgentUnits(ctx, opts);
  for (const line of installReport(ctx.config, ctx.layout.triggers, installed)) opts.print(line);
  return 0;
}

/** What install did, file by file, and where the timer and the webhook are. */
export function installReport(
  config: Config,
  tl: TriggerLayout,
  { plan, generatedSecret }: Installed,
): string[] {
  const lines = [
    plan.nothing
      ? `rf-agent install: nothing to change for ${config.app.name}`
      : `rf-agent install: ${config.app.name}`,
  ];
  for (const f of plan.files)
    lines.push(`  ${path.basename(f.path).padEnd(40)} ${f.changed ? "written" : "unchanged"}`);
  for (const p of plan.staleFiles) lines.push(`  ${path.basename(p).padEnd(40)} removed`);
  if (config.trigger.schedule)
    lines.push(`timer:    OnCalendar=${config.trigger.schedule} (systemctl list-timers ${tl.timer})`);
  else lines.push("timer:    none ([trigger] schedule is empty)");
  lines.push(
    `webhook:  POST http://${listenText(config.webhook.listen)}/hooks/${config.app.name} (${config.webhook.provider}), listener healthy`,
  );
  lines.push(
    `secret:   ${config.webhook.secretFile}${generatedSecret ? " (generated now: set the same value as the webhook's secret in the forge)" : ""}`,
  );
  return lines;
}

export async function uninstall(
  ctx: Context,
  opts: { print: (line: string) => void; waitSec: number },
): Promise<number> {
  const removed = await uninstallAgentUnits(ctx, opts.waitSec);
  for (const line of uninstallReport(ctx.config, ctx.layout.triggers, removed)) opts.print(line);
  return 0;
}

export function uninstallReport(config: Config, tl: TriggerLayout, removed: Uninstalled | null): string[] {
  if (!removed)
    return [`rf-agent uninstall: nothing installed for ${config.app.name} (no ${tl.manifestPath})`];
  const { manifest, keptSecret } = removed;
  const lines = [`rf-agent uninstall: ${config.app.name}`];
  for (const f of manifest.files) lines.push(`  ${path.basename(f.path).padEnd(40)} removed`);
  lines.push(`  ${tl.listenerState.padEnd(40)} removed (delivery ids, pending requests)`);
  const secret = manifest.generatedSecret;
  if (secret)
    lines.push(
      `  ${secret.path.padEnd(40)} ${keptSecret ? "kept: it changed since install made it" : "removed"}`,
    );
  return lines;
}
