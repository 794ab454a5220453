// Who holds the services' ports: a port must be free, or held by that very unit's process.
import { commandOfPid, listeners, unitOfPid } from "../adapters/ports.js";
import type { Color, ServiceConfig } from "../config/types.js";
import type { Context } from "../context.js";

export interface ForeignHolder {
  service: ServiceConfig;
  color: Color;
  port: number;
  /** 0 when `ss` shows a listener without its process (another user's, seen without root). */
  pid: number;
  /** Its command line, "?" when unreadable. */
  command: string;
}

/** The processes other than the color's own units listening on its ports, in config order. */
export async function foreignHolders(ctx: Context, color: Color): Promise<ForeignHolder[]> {
  const found = await listeners(
    ctx.run,
    ctx.config.services.map((s) => s.ports[color]),
  );
  const holders: ForeignHolder[] = [];
  for (const service of ctx.config.services) {
    for (const l of found.get(service.ports[color]) ?? []) {
      if (l.pid && (await unitOfPid(l.pid)) === ctx.layout.unit(service, color)) continue;
      holders.push({
        service,
        color,
        port: service.ports[color],
        pid: l.pid,
        command: await commandOfPid(l.pid),
      });
    }
  }
  return holders;
}
