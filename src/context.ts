// Everything a command needs, built once; tests build their own with fakes.
import type { Config } from "./config/types.js";
import { httpGet, type HttpGet } from "./adapters/health.js";
import { layoutFor, type HostDirs, DEFAULT_DIRS, type Layout } from "./core/layout.js";
import { createRunner, type Runner } from "./exec/runner.js";
import type { Logger } from "./log.js";
import type { UnixUser } from "./adapters/users.js";

export interface Context {
  config: Config;
  layout: Layout;
  run: Runner;
  get: HttpGet;
  log: Logger;
  /** Set once the app user exists (or was created). */
  user: UnixUser | null;
  now: () => Date;
  sleep: (ms: number) => Promise<void>;
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
