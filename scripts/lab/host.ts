// What a server leaves on the host, read from the host's /proc and /sys: for teardown and isolation checks.
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import path from "node:path";
import type { TestServer } from "./server.js";

export const HOST_CGROUP_ROOTS = ["/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"];

/** A host process, told apart from a later one that reuses its pid by its start time. */
export interface HostProcess {
  pid: number;
  start: string;
  comm: string;
}

/** The host process with this pid, if there is one. */
export function hostProcess(pid: number): HostProcess | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid ...": comm may hold spaces and parens; starttime is field 22.
  const close = stat.lastIndexOf(")");
  const start = stat.slice(close + 2).split(" ")[19] ?? "";
  return { pid, start, comm: stat.slice(stat.indexOf("(") + 1, close) };
}

export function isRunning(p: HostProcess): boolean {
  return hostProcess(p.pid)?.start === p.start;
}

/** Namespace of a process (e.g. "pid:[4026532180]"), or undefined once it is gone. */
export function namespaceOf(pid: number | "self", kind: "pid" | "net" | "mnt"): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/${kind}`);
  } catch {
    return undefined;
  }
}

/** Host pids in a pid namespace. */
export function pidsInNamespace(pidNs: string): number[] {
  return allPids().filter((pid) => namespaceOf(pid, "pid") === pidNs);
}

/** The host cgroup directories server.sh made for a server that exist now. */
export function serverCgroupDirs(name: string): string[] {
  return HOST_CGROUP_ROOTS.map((root) => path.join(root, `rf-server-${name}`)).filter((dir) =>
    existsSync(dir),
  );
}

/**
 * Every host process that belongs to the server: those in its pid namespace (systemd and all it
 * started), the `unshare` above them, and anything in its host cgroups.
 */
export function serverProcesses(server: TestServer): HostProcess[] {
  const pids = new Set<number>([server.pid]);
  const pidNs = namespaceOf(server.pid, "pid");
  if (pidNs) for (const pid of pidsInNamespace(pidNs)) pids.add(pid);
  const unshareFile = path.join(server.stateDir, "unshare.pid");
  if (existsSync(unshareFile)) pids.add(Number(readFileSync(unshareFile, "utf8").trim()));
  for (const dir of serverCgroupDirs(server.name)) for (const pid of cgroupPids(dir)) pids.add(pid);
  return [...pids].flatMap((pid) => hostProcess(pid) ?? []);
}

/** Inodes of the sockets listening on a TCP port in the host's network namespace. */
export function hostListeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  for (const table of ["/proc/self/net/tcp", "/proc/self/net/tcp6"]) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is "ADDR:PORT"; state 0A is LISTEN; field 9 is the inode.
      if (f[1]?.endsWith(`:${hexPort}`) && f[3] === "0A" && f[9]) inodes.add(f[9]);
    }
  }
  return inodes;
}

/** Inodes of the sockets a process holds open. */
export function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m?.[1]) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

function cgroupPids(dir: string): number[] {
  const pids: number[] = [];
  const walk = (d: string) => {
    try {
      pids.push(
        ...readFileSync(path.join(d, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number),
      );
      for (const e of readdirSync(d, { withFileTypes: true }))
        if (e.isDirectory()) walk(path.join(d, e.name));
    } catch {
      // removed meanwhile
    }
  };
  walk(dir);
  return pids;
}

function allPids(): number[] {
  return readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e))
    .map(Number);
}
