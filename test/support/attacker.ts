// The parties rf-agent must not trust, played inside a test server: the app user at a shell, and code
// running inside one of the app's services (an RCE in the app).
import type { ExecOptions, ExecResult, TestServer } from "../../scripts/lab/server.js";

/** A shell script run as `user` (runuser: no password, clean of root's groups). */
export function asUser(
  server: TestServer,
  user: string,
  script: string,
  opts: ExecOptions = {},
): Promise<ExecResult> {
  return server.exec("runuser", ["-u", user, "--", "sh", "-c", script], opts);
}

export interface ServiceProcess {
  pid: number;
  uid: number;
  gid: number;
}

/** The main process of a running unit and the ids it runs under (as the server's root sees them). */
export async function serviceProcess(server: TestServer, unit: string): Promise<ServiceProcess> {
  const script = `pid=$(systemctl show -p MainPID --value -- "$1") && [ "$pid" -gt 0 ] && echo "$pid" &&
awk '/^Uid:|^Gid:/ {print $2}' "/proc/$pid/status"`;
  const r = await server.exec("bash", ["-c", script, "service-process", unit]);
  const [pid, uid, gid] = r.stdout.trim().split("\n").map(Number);
  if (r.exitCode !== 0 || !pid || uid === undefined || gid === undefined || Number.isNaN(uid + gid))
    throw new Error(`${unit} has no running main process: ${r.stdout} ${r.stderr}`);
  return { pid, uid, gid };
}

/**
 * A shell script run as if by code inside a running service: in all of its namespaces (the mount
 * namespace carries ProtectSystem=, ReadOnlyPaths=, the data directory; the user namespace carries
 * PrivateUsers=), as its uid and gid, with no capabilities and no way to gain privileges. Not
 * reproduced: its seccomp filter and cgroup, which only narrow what the script could do.
 */
export async function inService(
  server: TestServer,
  unit: string,
  script: string,
  opts: ExecOptions = {},
): Promise<ExecResult> {
  const p = await serviceProcess(server, unit);
  return server.exec(
    "nsenter",
    [
      ...["-t", String(p.pid), "-a", "-S", String(p.uid), "-G", String(p.gid)],
      ...["--", "setpriv", "--no-new-privs", "--", "sh", "-c", `cd / && ${script}`],
    ],
    opts,
  );
}
