// Where everything of one app lives on the host, derived from its config alone.
import path from "node:path";
import { COLORS, type Color, type Config, type ServiceConfig } from "../config/types.js";

export interface HostDirs {
  systemdDir: string;
  nginxDir: string;
  stateRoot: string;
  runRoot: string;
}

export const DEFAULT_DIRS: HostDirs = {
  systemdDir: "/etc/systemd/system",
  nginxDir: "/etc/nginx",
  stateRoot: "/var/lib/rf-agent",
  runRoot: "/run/rf-agent",
};

export interface Layout {
  app: string;
  checkout(color: Color): string;
  venv(color: Color): string;
  /** pip's cache (HOME/.cache for git and pip run as the app user). */
  cacheDir: string;
  /** The services' writable directory, shared by both colors. */
  dataDir: string;
  /** rf-agent's own record of what each venv was built from (root-owned, outside the app's tree). */
  venvMarkerPath(color: Color): string;
  /** Template unit name: demo-api@.service */
  template(service: ServiceConfig): string;
  /** Instance unit name: demo-api@blue.service */
  unit(service: ServiceConfig, color: Color): string;
  units(color: Color): string[];
  templatePath(service: ServiceConfig): string;
  dropInPath(service: ServiceConfig, color: Color): string;
  sitePath: string;
  siteLinkPath: string;
  defaultSiteLinkPath: string;
  liveIncludePath: string;
  previewIncludePath: string;
  /** Flag files of armed switches (ops/armed-switch.ts): nginx's workers must be able to stat them. */
  armedFlagsDir: string;
  stateDir: string;
  statePath: string;
  lockPath: string;
  lockHolderPath: string;
  /** nginx variable/upstream prefix: app name with '-' made '_'. */
  nginxId: string;
  /** The agent's own units (timer, webhook listener) and what they keep. */
  triggers: TriggerLayout;
}

export type DeployInstance = "timer" | "webhook";

export interface TriggerLayout {
  /** rf-agent-NAME-deploy@.service */
  deployTemplate: string;
  deployUnit(instance: DeployInstance): string;
  timer: string;
  path: string;
  listener: string;
  unitPath(unit: string): string;
  /** StateDirectory= of the listener, relative to /var/lib. */
  listenerStateName: string;
  /** Where systemd keeps a DynamicUser's state (the /var/lib/NAME symlink points here). */
  listenerState: string;
  listenerStateLink: string;
  /** Deploy requests the listener files and the deploy consumes. */
  spoolDir: string;
  /** The root-owned directory (/var/lib) below which the spool is opened one component at a time. */
  spoolTop: string;
  /** Recent delivery ids, so a redelivery is not deployed twice. */
  deliveriesPath: string;
  /** What `rf-agent install` wrote, for idempotence and `uninstall`. */
  manifestPath: string;
}

export function other(color: Color): Color {
  return color === "blue" ? "green" : "blue";
}

/** Where rf-agent asks one service of one color whether it is healthy: on its own port, past nginx. */
export function healthUrl(service: ServiceConfig, color: Color): string {
  return `http://127.0.0.1:${service.ports[color]}${service.health}`;
}

/** A listen address as written in the config and in messages: 127.0.0.1:9000, [::1]:9000. */
export function listenText(listen: { host: string; port: number }): string {
  return listen.host.includes(":") ? `[${listen.host}]:${listen.port}` : `${listen.host}:${listen.port}`;
}

export function isColor(value: unknown): value is Color {
  return (COLORS as readonly unknown[]).includes(value);
}

export function layoutFor(config: Config, dirs: HostDirs = DEFAULT_DIRS): Layout {
  const app = config.app.name;
  const root = config.app.root;
  const unitBase = (s: ServiceConfig) => `${app}-${s.name}`;
  const stateDir = path.join(dirs.stateRoot, app);
  return {
    app,
    checkout: (color) => path.join(root, color),
    // Outside the work tree so `git clean -ffdx` never touches it.
    venv: (color) => path.join(root, "venvs", color),
    cacheDir: path.join(root, ".cache"),
    dataDir: config.app.dataDir,
    venvMarkerPath: (color) => path.join(stateDir, `venv-${color}.json`),
    template: (s) => `${unitBase(s)}@.service`,
    unit: (s, color) => `${unitBase(s)}@${color}.service`,
    units: (color) => config.services.map((s) => `${unitBase(s)}@${color}.service`),
    templatePath: (s) => path.join(dirs.systemdDir, `${unitBase(s)}@.service`),
    dropInPath: (s, color) =>
      path.join(dirs.systemdDir, `${unitBase(s)}@${color}.service.d`, "rf-agent.conf"),
    sitePath: path.join(dirs.nginxDir, "sites-available", `rf-agent-${app}.conf`),
    siteLinkPath: path.join(dirs.nginxDir, "sites-enabled", `rf-agent-${app}.conf`),
    defaultSiteLinkPath: path.join(dirs.nginxDir, "sites-enabled", "default"),
    liveIncludePath: path.join(dirs.nginxDir, "rf-agent", app, "live.conf"),
    previewIncludePath: path.join(dirs.nginxDir, "rf-agent", app, "preview.conf"),
    armedFlagsDir: path.join(dirs.nginxDir, "rf-agent", app, "armed"),
    stateDir,
    statePath: path.join(stateDir, "state.json"),
    lockPath: path.join(dirs.runRoot, `${app}.lock`),
    lockHolderPath: path.join(dirs.runRoot, `${app}.lock.holder`),
    nginxId: `rf_${app.replace(/-/g, "_")}`,
    triggers: triggerLayout(app, dirs),
  };
}

/** Names and paths of the agent's own units for one app, derived from its name alone. */
export function triggerLayout(app: string, dirs: HostDirs = DEFAULT_DIRS): TriggerLayout {
  const base = `rf-agent-${app}`;
  // stateRoot is /var/lib/rf-agent; DynamicUser state lives in /var/lib/private.
  const varLib = path.dirname(dirs.stateRoot);
  const listenerStateName = `${base}-webhook`;
  const listenerState = path.join(varLib, "private", listenerStateName);
  return {
    deployTemplate: `${base}-deploy@.service`,
    deployUnit: (instance) => `${base}-deploy@${instance}.service`,
    timer: `${base}-deploy.timer`,
    path: `${base}-deploy.path`,
    listener: `${base}-webhook.service`,
    unitPath: (unit) => path.join(dirs.systemdDir, unit),
    listenerStateName,
    listenerState,
    listenerStateLink: path.join(varLib, listenerStateName),
    spoolDir: path.join(listenerState, "spool"),
    spoolTop: varLib,
    deliveriesPath: path.join(listenerState, "deliveries.json"),
    manifestPath: path.join(dirs.stateRoot, app, "install.json"),
  };
}
