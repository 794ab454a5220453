// What systemd and the health URL say of one service of one color, for `rf-agent status`.
import { status as unitStatus } from "../adapters/systemd.js";
import type { Color, ServiceConfig } from "../config/types.js";
import type { Context } from "../context.js";
import { healthUrl } from "../core/layout.js";

export interface ServiceStatus {
  unit: string;
  port: number;
  /** ActiveState/SubState, e.g. active/running. */
  state: string;
  /** Answers its health URL with 2xx (asked only when active). */
  healthy: boolean;
}

export async function serviceStatus(
  ctx: Context,
  service: ServiceConfig,
  color: Color,
): Promise<ServiceStatus> {
  const unit = ctx.layout.unit(service, color);
  const u = await unitStatus(ctx.run, unit);
  const h =
    u.activeState === "active"
      ? await ctx.get(healthUrl(service, color), { timeoutMs: 1500 })
      : { status: 0, body: "" };
  return {
    unit,
    port: service.ports[color],
    state: `${u.activeState}/${u.subState}`,
    healthy: h.status >= 200 && h.status < 300,
  };
}
