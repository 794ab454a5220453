// Everything a command needs, built once; tests build their own with fakes.
import type { Config } from "./config/types.js";
import { httpGet, type HttpGet } from "./adapters/health.js";
import { layoutFor, type HostDirs, DEFAULT_DIRS, type Layout } from "./core/layout.js";
import { createRunner, type Runner } from "./exec/runner.js";
import type { Logger } from "./log.js";
import type { UnixUser } from "./adapters/users.js";

/** Never changed once made: a command that learns more (its user, a logger with the run's fields) makes a new one. */
export interface Context {
  readonly config: Config;
  readonly layout: Layout;
  readonly run: Runner;
  readonly get: HttpGet;
  readonly log: Logger;
  /** The app user, once it exists (or was created). */
  readonly user: UnixUser | null;
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
}

/** The same context, logging with `fields` on every line. */
export function withFields(ctx: Context, fields: Record<string, unknown>): Context {
  return { ...ctx, log: ctx.log.child(fields) };
}

export function createContext(config: Config, log: Logger, dirs: HostDirs = DEFAULT_DIRS): Context {
  return {
    config,
    layout: layoutFor(config, dirs),
    run: createRunner(log),
    get: httpGet,
    log,
    user: null,
    now: () => new Date(),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  };
}

/** Host header nginx routes to our server block. */
export function nginxHost(config: Config): string {
  const first = config.nginx.serverName.split(/\s+/)[0] ?? "_";
  return first === "_" || first.startsWith("~") || first.includes("*") ? "localhost" : first;
}
