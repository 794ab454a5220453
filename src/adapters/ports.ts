// Who listens on a TCP port, and how many clients are still connected to it.
import { readFile } from "node:fs/promises";
import type { Runner } from "../exec/runner.js";

export interface Listener {
  pid: number;
  command: string;
}

export async function listeners(run: Runner, port: number): Promise<Listener[]> {
  const r = await run("ss", ["-Htlnp", `sport = :${port}`], { reject: false });
  const found: Listener[] = [];
  for (const m of r.stdout.matchAll(/\("([^"]*)",pid=(\d+)/g)) {
    found.push({ command: m[1] ?? "?", pid: Number(m[2]) });
  }
  if (found.length === 0 && r.stdout.trim()) found.push({ pid: 0, command: "unknown" });
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
