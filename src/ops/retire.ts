// After the flip: watch the new color, let the old one drain, then stop it or keep it as standby.
import { establishedCount } from "../adapters/ports.js";
import type { Color } from "../config/types.js";
import type { Context } from "../context.js";
import { RfError } from "../errors.js";
import { quickHealthy, stopColor } from "./start.js";

/**
 * Checks the new color for `watch` seconds after the flip. Resolves to null when it stayed healthy,
 * else to the reason; two failed checks in a row count, so one slow answer does not roll back.
 */
export async function watchNewColor(ctx: Context, color: Color, flipAt: number): Promise<string | null> {
  const until = flipAt + ctx.config.switch.watchSec * 1000;
  const now = () => ctx.now().getTime();
  let failures = 0;
  while (now() < until) {
    if (await quickHealthy(ctx, color)) failures = 0;
    else if (++failures >= 2) return `the ${color} color failed its health check after the switch`;
    await ctx.sleep(Math.min(500, Math.max(0, until - now())));
  }
  return null;
}

/** Waits for the old color's clients (nginx's old workers, websockets) to finish; returns how many remain. */
export async function drain(ctx: Context, color: Color, flipAt: number): Promise<number> {
  const { graceSec, drainSec } = ctx.config.switch;
  const ports = ctx.config.services.map((s) => s.ports[color]);
  const now = () => ctx.now().getTime();
  const graceEnd = flipAt + graceSec * 1000;
  if (now() < graceEnd) await ctx.sleep(graceEnd - now());
  const deadline = flipAt + Math.max(graceSec, drainSec) * 1000;
  let open = await establishedCount(ctx.run, ports);
  while (open > 0 && now() < deadline) {
    await ctx.sleep(250);
    open = await establishedCount(ctx.run, ports);
  }
  return open;
}

export async function retireColor(
  ctx: Context,
  color: Color,
  flipAt: number,
): Promise<{ open: number; standby: boolean }> {
  const open = await drain(ctx, color, flipAt);
  if (open > 0) {
    ctx.log.warn(
      { color, open },
      `${open} connections to the ${color} color were still open at the drain deadline`,
    );
  }
  if (ctx.config.switch.standbySec > 0) {
    ctx.log.info(
      { color, seconds: ctx.config.switch.standbySec },
      `keeping ${color} running as warm standby`,
    );
    return { open, standby: true };
  }
  await stopColor(ctx, color);
  return { open, standby: false };
}

export function rolledBack(reason: string, to: Color): RfError {
  return new RfError("ROLLED_BACK", `${reason}; switched back to the ${to} color`, {
    hint: "the previous version is serving again; fix the release (see `journalctl -u` for its units), then deploy again",
  });
}
