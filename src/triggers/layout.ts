// Names and paths of the agent's own units (timer, webhook) for one app, derived from its name alone.
import path from "node:path";
import { DEFAULT_DIRS, type HostDirs } from "../core/layout.js";

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
  /** Recent delivery ids, so a redelivery is not deployed twice. */
  deliveriesPath: string;
  /** What `rf-agent install` wrote, for idempotence and `uninstall`. */
  manifestPath: string;
}

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
    deliveriesPath: path.join(listenerState, "deliveries.json"),
    manifestPath: path.join(dirs.stateRoot, app, "install.json"),
  };
}
