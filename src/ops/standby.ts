// A warm standby ends on its own: a transient systemd timer runs `rf-agent reconcile` when it expires.
import type { Context } from "../context.js";
import { selfCommand } from "../exec/self.js";
import { stopUnits, transientTimer } from "../adapters/systemd.js";

export function standbyTimerUnit(app: string): string {
  return `rf-agent-${app}-standby-expiry`;
}

export async function scheduleStandbyExpiry(ctx: Context, seconds: number): Promise<void> {
  const unit = standbyTimerUnit(ctx.config.app.name);
  await cancelStandbyExpiry(ctx);
  const refused = await transientTimer(ctx.run, {
    unit,
    seconds: seconds + 1,
    description: `rf-agent: end the warm standby of ${ctx.config.app.name}`,
    env: { RF_AGENT_TRIGGER: "standby-expiry" },
    command: [...selfCommand(), "reconcile", "--config", ctx.config.source, "--wait", "600"],
  });
  if (refused !== null) {
    ctx.log.warn(
      { unit, err: refused },
      "could not schedule the standby expiry; the next rf-agent run will stop it",
    );
  }
}

export async function cancelStandbyExpiry(ctx: Context): Promise<void> {
  const unit = standbyTimerUnit(ctx.config.app.name);
  await stopUnits(ctx.run, [`${unit}.timer`, `${unit}.service`]);
}
