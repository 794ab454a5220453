// What comes up after a reboot: the live color's units and nginx are enabled, the other color's are
// not, so a rebooted host serves the live version by itself and never resurrects a standby.
import path from "node:path";
import { disable, enable, enabledAtBoot } from "../adapters/systemd.js";
import type { Color } from "../config/types.js";
import type { Context } from "../context.js";
import { other } from "../core/layout.js";

export const NGINX_UNIT = "nginx.service";

/**
 * Enables the live color's units (and nginx) and disables the other color's, asking systemd only
 * for what differs from the links on disk: nothing at all when the host already agrees.
 */
export async function bootLive(ctx: Context, live: Color): Promise<void> {
  const first = ctx.config.services[0];
  if (!first) return;
  const systemdDir = path.dirname(ctx.layout.templatePath(first));
  const on = [...ctx.layout.units(live), NGINX_UNIT];
  const off = ctx.layout.units(other(live));
  const enabled = await enabledAtBoot(systemdDir, [...on, ...off]);
  const toEnable = on.filter((u) => !enabled.has(u));
  const toDisable = off.filter((u) => enabled.has(u));
  if (toEnable.length === 0 && toDisable.length === 0) return;
  // Enable first: a reboot between the two calls starts both colors (the next run stops the one
  // nginx does not serve) rather than neither.
  await enable(ctx.run, toEnable);
  await disable(ctx.run, toDisable);
  ctx.log.info({ color: live, enabled: toEnable, disabled: toDisable }, `${live} starts at boot`);
}

/** bootLive after a switch, which has happened either way: a failure is a warning the next run repairs. */
export async function bootLiveOrWarn(ctx: Context, live: Color): Promise<void> {
  try {
    await bootLive(ctx, live);
  } catch (e) {
    ctx.log.warn(
      { color: live, err: (e as Error).message },
      `could not enable the ${live} color for boot; the next rf-agent run tries again`,
    );
  }
}
