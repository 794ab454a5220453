// What systemd and the health URL say of each service of each color, for `rf-agent status`.
import { statuses } from "../adapters/systemd.js";
import { COLORS, type Color } from "../config/types.js";
import type { Context } from "../context.js";
import { healthUrl } from "../core/layout.js";

export interface ServiceStatus {
  unit: string;
  port: number;
  /** ActiveState/SubState, e.g. active/running. */
  state: string;
  /** Active, and answers its health URL with 2xx. */
  healthy: boolean;
}

/** Each service of each color, by color then service name. */
export type ServiceStatuses = Record<Color, Record<string, ServiceStatus>>;

/**
 * How long status waits for one health answer. Short: the answers are asked all at once, so a hung
 * app costs status this long once, not once per unit; an app this slow to say it is healthy is not.
 */
export const STATUS_HEALTH_TIMEOUT_MS = 1000;

/**
 * Every unit of both colors in one `systemctl show`, and the health URL of each, all at once: an
 * answer counts only for a unit systemd calls active, but it is not waited for behind systemctl.
 * Also the ActiveState of each unit, for the state's standby check (src/ops/reconcile.ts).
 */
export async function serviceStatuses(
  ctx: Context,
): Promise<{ services: ServiceStatuses; activeStates: Map<string, string> }> {
  const pairs = COLORS.flatMap((color) => ctx.config.services.map((service) => ({ color, service })));
  const asked = pairs.map(({ color, service }) => {
    const answer = ctx.get(healthUrl(service, color), { timeoutMs: STATUS_HEALTH_TIMEOUT_MS });
    answer.catch(() => undefined);
    return answer;
  });
  const units = await statuses(
    ctx.run,
    pairs.map((p) => ctx.layout.unit(p.service, p.color)),
  );
  // A stopped unit's port may hold someone else's process: its answer is not waited for at all.
  const answers = await Promise.all(
    pairs.map(({ color, service }, i) =>
      units.get(ctx.layout.unit(service, color))?.activeState === "active"
        ? asked[i]!
        : { status: 0, body: "" },
    ),
  );
  const services = Object.fromEntries(COLORS.map((c) => [c, {}])) as ServiceStatuses;
  for (const [i, { color, service }] of pairs.entries()) {
    const unit = ctx.layout.unit(service, color);
    const u = units.get(unit);
    const h = answers[i];
    services[color][service.name] = {
      unit,
      port: service.ports[color],
      state: `${u?.activeState ?? "unknown"}/${u?.subState ?? "unknown"}`,
      healthy: h !== undefined && h.status >= 200 && h.status < 300,
    };
  }
  // Only what systemd reported: the standby check keeps a standby it could not ask about.
  const activeStates = new Map(
    [...units].filter(([, s]) => s.activeState !== "unknown").map(([unit, s]) => [unit, s.activeState]),
  );
  return { services, activeStates };
}
