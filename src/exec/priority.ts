// rf-agent's own CPU priority. A deploy or a rollback is a few hundred ms of CPU; on a host whose app
// keeps every core busy it would otherwise queue behind that app's workers for seconds.
import { setPriority } from "node:os";

/** The nice value root's rf-agent runs at; its children (systemctl, nginx -t, flock) inherit it. */
export const RAISED_NICE = -10;

/**
 * Raises the process's priority when it may (root). What runs the app's or the repository's code
 * (the services, git, pip, hooks) is started by systemd, never as our child, so none of it inherits this.
 */
export function raisePriority(): void {
  if (process.getuid?.() !== 0) return;
  try {
    setPriority(RAISED_NICE);
  } catch {
    // a container without CAP_SYS_NICE: rf-agent runs as it is
  }
}
