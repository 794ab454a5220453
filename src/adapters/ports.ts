// Who listens on a TCP port, and how many clients are still connected to it.
import { readFile } from "node:fs/promises";
import type { Runner } from "../exec/runner.js";

export interface Listener {
  pid: number;
  command: string;
}

/**
 * The listeners on each of these ports, from one `ss` run: `ss -p` reads every process's file
 * descriptors, and a deploy asks before each start.
 */
export async function listeners(run: Runner, ports: number[]): Promise<Map<number, Listener[]>> {
  const found = new Map<number, Listener[]>(ports.map((p) => [p, []]));
  if (ports.length === 0) return found;
  const filter = ports.map((p) => `sport = :${p}`).join(" or ");
  const r = await run("ss", ["-Htlnp", `( ${filter} )`], { reject: false });
  const unnamed = new Set<number>();
  for (const line of r.stdout.split("\n")) {
    // "LISTEN 0 2048 127.0.0.1:8000 0.0.0.0:* users:((...))": the fourth column is the local address
    const local = line.trim().split(/\s+/)[3];
    const port = Number(/:(\d+)$/.exec(local ?? "")?.[1]);
    // A line we cannot place holds, as far as we know, every port asked about: never "free" by mistake.
    if (!Number.isInteger(port) && line.trim()) for (const p of ports) unnamed.add(p);
    const here = found.get(port);
    if (!here) continue;
    const named = [...line.matchAll(/\("([^"]*)",pid=(\d+)/g)];
    for (const m of named) here.push({ command: m[1] ?? "?", pid: Number(m[2]) });
    // Without privileges ss shows another user's socket without its process.
    if (named.length === 0) unnamed.add(port);
  }
  for (const port of unnamed)
    if (found.get(port)?.length === 0) found.get(port)!.push({ pid: 0, command: "unknown" });
  return found;
}

/** Established connections whose local port is one of these (clients of the app, via nginx). */
export async function establishedCount(run: Runner, ports: number[]): Promise<number> {
  if (ports.length === 0) return 0;
  const filter = ports.map((p) => `sport = :${p}`).join(" or ");
  const r = await run("ss", ["-Htn", "state", "established", `( ${filter} )`], { reject: false });
  return r.stdout.split("\n").filter((l) => l.trim()).length;
}

/** The systemd unit a process belongs to, from its cgroup path. */
export async function unitOfPid(pid: number): Promise<string | null> {
  try {
    const text = await readFile(`/proc/${pid}/cgroup`, "utf8");
    const m = /\/([^/\n]+\.service)(?:\/|$)/m.exec(text);
    return m?.[1] ?? null;
  } catch {
    return null;
  }
}

export async function commandOfPid(pid: number): Promise<string> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0").join(" ").trim();
  } catch {
    return "?";
  }
}
