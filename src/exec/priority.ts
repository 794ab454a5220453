// rf-agent's own CPU priority. A deploy or a rollback is a few hundred ms of CPU; on a host whose app
// keeps every core busy it would otherwise queue behind that app's workers for seconds.
import { readFileSync, writeFileSync } from "node:fs";
import { setPriority } from "node:os";

/** The nice value root's rf-agent runs at; its children (systemctl, nginx -t, flock) inherit it. */
export const RAISED_NICE = -10;

const AUTOGROUP = "/proc/self/autogroup";

/** "/autogroup-42 nice 0" -> 0 */
export function autogroupNice(text: string): number | null {
  const m = /\snice\s+(-?\d+)\s*$/.exec(text);
  return m ? Number(m[1]) : null;
}

/**
 * Raises the process's priority when it may (root). What runs the app's or the repository's code
 * (the services, git, pip, hooks) is started by systemd, never as our child, so none of it inherits this.
 *
 * With the kernel's autogroup scheduling (Debian's default, while no cpu cgroup controller is on),
 * a nice value only counts within its session: each service is a session of its own and gets an
 * equal share whatever our nice. So the session's group is raised too, for as long as rf-agent runs,
 * and put back when it exits or is stopped by a signal.
 */
export function raisePriority(): void {
  if (process.getuid?.() !== 0) return;
  try {
    setPriority(RAISED_NICE);
  } catch {
    // a container without CAP_SYS_NICE: rf-agent runs as it is
  }
  let before: number | null = null;
  try {
    before = autogroupNice(readFileSync(AUTOGROUP, "utf8"));
    if (before === null || before <= RAISED_NICE) return;
    writeFileSync(AUTOGROUP, String(RAISED_NICE));
  } catch {
    return; // no autogroup scheduling in this kernel
  }
  const restore = () => {
    try {
      writeFileSync(AUTOGROUP, String(before));
    } catch {
      // the session is gone with us
    }
  };
  process.once("exit", restore);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      restore();
      // Then what the signal would have done: the default (the process ends) unless some other
      // part of rf-agent handles it itself.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}
