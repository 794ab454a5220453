// A warm standby ends on its own: a transient systemd timer runs `rf-agent reconcile` when it expires.
import type { Context } from "../context.js";
import { selfCommand } from "../exec/self.js";

export function standbyTimerUnit(app: string): string {
  return `rf-agent-${app}-standby-expiry`;
}

export async function scheduleStandbyExpiry(ctx: Context, seconds: number): Promise<void> {
  const unit = standbyTimerUnit(ctx.config.app.name);
  await cancelStandbyExpiry(ctx);
  const r = await ctx.run(
    "systemd-run",
    [
      `--unit=${unit}`,
      `--on-active=${Math.ceil(seconds) + 1}s`,
      "--timer-property=AccuracySec=1s",
      `--description=rf-agent: end the warm standby of ${ctx.config.app.name}`,
      "--setenv=RF_AGENT_TRIGGER=standby-expiry",
      ...selfCommand(),
      "reconcile",
      "--config",
      ctx.config.source,
      "--wait",
      "600",
    ],
    { reject: false },
  );
  if (r.exitCode !== 0) {
    ctx.log.warn(
      { unit, err: r.stderr.trim() },
      "could not schedule the standby expiry; the next rf-agent run will stop it",
    );
  }
}

export async function cancelStandbyExpiry(ctx: Context): Promise<void> {
  const unit = standbyTimerUnit(ctx.config.app.name);
  await ctx.run("systemctl", ["stop", `${unit}.timer`, `${unit}.service`], { reject: false });
}
