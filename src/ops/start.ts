// Starting one color and proving it healthy on its own ports, before nginx sends it anything.
import { waitHealthy, type Confirmation } from "../adapters/health.js";
import { journalTail } from "../adapters/journal.js";
import {
  activeStates,
  resetFailed,
  restart,
  start,
  status,
  statuses,
  stop,
  type UnitStatus,
} from "../adapters/systemd.js";
import type { Color, ServiceConfig } from "../config/types.js";
import type { Context } from "../context.js";
import { RfError } from "../errors.js";
import { healthUrl } from "../core/layout.js";
import { foreignHolders } from "./ports.js";

/** A port must be free, or held by this very unit: a stray process must never pass our health check. */
export async function checkPorts(ctx: Context, color: Color): Promise<void> {
  const [first] = await foreignHolders(ctx, color);
  if (!first) return;
  const { service, port, pid, command } = first;
  const who = pid ? `pid ${pid}: ${command}` : "a process rf-agent cannot see";
  const stop = pid
    ? `stop that process (kill ${pid})`
    : `find it with \`ss -ltnp 'sport = :${port}'\` and stop it`;
  throw new RfError("PORT_BUSY", `port ${port} of ${service.name} (${color}) is held by ${who}`, {
    hint: `${stop}, or give [service.${service.name}] other ports, then deploy again`,
  });
}

/**
 * Why a unit that systemd already knows died (or restarted) cannot pass the health wait; else null.
 * `justStarted`: the run started it, so a death is one at start; otherwise (a staged color checked
 * again before its switch) it may have died long after.
 */
export function crashOf(s: UnitStatus, justStarted = true): string | null {
  if (s.activeState !== "failed" && s.restarts === 0) return null;
  if (justStarted)
    return `${s.unit} exited at start (status ${s.execMainStatus}, ${s.restarts} restarts, result ${s.result})`;
  if (s.activeState === "failed")
    return `${s.unit} has exited (status ${s.execMainStatus}, result ${s.result})`;
  const times = s.restarts === 1 ? "once" : `${s.restarts} times`;
  return `${s.unit} exited (status ${s.execMainStatus}) and systemd restarted it ${times} since it was started`;
}

/** Fails the health wait early when systemd already knows the process died. */
async function crashReason(ctx: Context, unit: string, justStarted: boolean): Promise<string | null> {
  return crashOf(await status(ctx.run, unit), justStarted);
}

/**
 * Asked when a service's streak would pass, in one `systemctl show` for the color's units: the
 * answers came from the process systemd started, still running and never restarted (a crash
 * between two probes, with Restart=on-failure, could otherwise hide behind good answers).
 */
async function confirmRunning(
  ctx: Context,
  color: Color,
  units: string[],
  justStarted: boolean,
): Promise<Confirmation> {
  const states = await statuses(ctx.run, ctx.layout.units(color));
  for (const unit of units) {
    const s = states.get(unit);
    if (!s) return { reset: `systemd said nothing about ${unit}` };
    const crash = crashOf(s, justStarted);
    if (crash) return { fail: crash };
    if (s.activeState !== "active") return { reset: `${unit} is ${s.activeState}` };
  }
  return null;
}

export async function startColor(ctx: Context, color: Color, { fresh }: { fresh: boolean }): Promise<void> {
  const units = ctx.layout.units(color);
  await resetFailed(ctx.run, units);
  await (fresh ? restart(ctx.run, units) : start(ctx.run, units));
}

/** Per service: ms until it passed, and ms until the first answer of the streak that passed. */
export interface HealthTimes {
  ms: Record<string, number>;
  firstHealthyMs: Record<string, number>;
}

/** `justStarted`: the run (re)started the color just now, rather than finding it running. */
export async function healthGate(ctx: Context, color: Color, justStarted = true): Promise<HealthTimes> {
  const { health } = ctx.config;
  const results = await Promise.all(
    ctx.config.services.map(async (service: ServiceConfig) => {
      const unit = ctx.layout.unit(service, color);
      const r = await waitHealthy(
        ctx.get,
        { name: service.name, url: healthUrl(service, color) },
        {
          successes: health.successes,
          stableMs: health.stableSec * 1000,
          intervalMs: health.intervalSec * 1000,
          timeoutMs: health.timeoutSec * 1000,
          failFast: () => crashReason(ctx, unit, justStarted),
          confirm: () => confirmRunning(ctx, color, [unit], justStarted),
          now: () => ctx.now().getTime(),
          sleep: ctx.sleep,
        },
      );
      return { service, unit, r };
    }),
  );
  const failed = results.filter((x) => !x.r.ok);
  if (failed.length > 0) {
    const details: string[] = [];
    for (const f of failed) {
      details.push(
        `--- last lines of ${f.unit} (journalctl -u ${f.unit}) ---`,
        await journalTail(ctx.run, f.unit, 15),
      );
    }
    const first = failed[0]!;
    const reason = first.r.ok ? "" : first.r.reason;
    throw new RfError("HEALTH", `the ${color} ${first.service.name} never became healthy: ${reason}`, {
      hint: `fix the release (its log is below), then deploy again; the live color was not touched`,
      details: details.join("\n"),
    });
  }
  const times: HealthTimes = { ms: {}, firstHealthyMs: {} };
  for (const { service, r } of results) {
    if (!r.ok) continue;
    times.ms[service.name] = r.ms;
    times.firstHealthyMs[service.name] = r.firstHealthyMs;
  }
  return times;
}

/** One answer per service, no waiting: is this running color fit to take traffic right now? */
export async function quickHealthy(ctx: Context, color: Color): Promise<boolean> {
  const answers = await Promise.all(
    ctx.config.services.map((s) =>
      ctx.get(healthUrl(s, color), { timeoutMs: 1500 }).then((r) => r.status >= 200 && r.status < 300),
    ),
  );
  return answers.every(Boolean);
}

/** The ActiveState of each unit of the color, from one `systemctl show`. */
export function unitStates(ctx: Context, color: Color): Promise<Map<string, string>> {
  return activeStates(ctx.run, ctx.layout.units(color));
}

/**
 * Every unit of the color is active: it runs (whether it answers is quickHealthy's to say).
 * `known`: unitStates of this color, when the caller asked already.
 */
export async function colorRunning(
  ctx: Context,
  color: Color,
  known?: Promise<Map<string, string>>,
): Promise<boolean> {
  const units = ctx.layout.units(color);
  const states = await (known ?? unitStates(ctx, color));
  return units.length > 0 && units.every((u) => states.get(u) === "active");
}

export async function stopColor(ctx: Context, color: Color): Promise<void> {
  await stop(ctx.run, ctx.layout.units(color));
}
