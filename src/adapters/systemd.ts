// systemctl and journalctl, one verb each.
import { lstat } from "node:fs/promises";
import path from "node:path";
import type { Runner } from "../exec/runner.js";

export interface UnitStatus {
  unit: string;
  activeState: string;
  subState: string;
  mainPid: number;
  restarts: number;
  result: string;
  execMainStatus: number;
}

const hint = "see `systemctl status` and `journalctl -xe` for the unit";

export async function daemonReload(run: Runner): Promise<void> {
  await run("systemctl", ["daemon-reload"], { code: "SYSTEMD", hint });
}

export async function restart(run: Runner, units: string[]): Promise<void> {
  // --no-block: a unit that crashes at start is caught by the health wait with its journal.
  await run("systemctl", ["restart", "--no-block", ...units], { code: "SYSTEMD", hint });
}

export async function start(run: Runner, units: string[]): Promise<void> {
  await run("systemctl", ["start", "--no-block", ...units], { code: "SYSTEMD", hint });
}

export async function stop(run: Runner, units: string[]): Promise<void> {
  if (units.length === 0) return;
  await run("systemctl", ["stop", ...units], { code: "SYSTEMD", hint, timeoutMs: 120_000 });
}

export async function resetFailed(run: Runner, units: string[]): Promise<void> {
  await run("systemctl", ["reset-failed", ...units], { reject: false });
}

export async function status(run: Runner, unit: string): Promise<UnitStatus> {
  const r = await run(
    "systemctl",
    ["show", unit, "--property=ActiveState,SubState,MainPID,NRestarts,Result,ExecMainStatus"],
    { reject: false },
  );
  const props = Object.fromEntries(
    r.stdout
      .split("\n")
      .filter((l) => l.includes("="))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
  return {
    unit,
    activeState: props.ActiveState ?? "unknown",
    subState: props.SubState ?? "unknown",
    mainPid: Number(props.MainPID ?? 0),
    restarts: Number(props.NRestarts ?? 0),
    result: props.Result ?? "unknown",
    execMainStatus: Number(props.ExecMainStatus ?? 0),
  };
}

/** ActiveState of each unit, in one `systemctl show` for all of them. */
export async function activeStates(run: Runner, units: string[]): Promise<Map<string, string>> {
  const states = new Map<string, string>();
  if (units.length === 0) return states;
  const r = await run("systemctl", ["show", "--property=Id,ActiveState", ...units], { reject: false });
  // One block per unit, blank-line separated, in the order asked.
  for (const block of r.stdout.split(/\n\s*\n/)) {
    const props = new Map(
      block
        .split("\n")
        .filter((l) => l.includes("="))
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const),
    );
    const id = props.get("Id");
    if (id) states.set(id, props.get("ActiveState") ?? "unknown");
  }
  return states;
}

/**
 * Units started at boot, read from the `multi-user.target.wants` links `systemctl enable` makes for
 * our units (WantedBy=multi-user.target): a look at the disk, no process, so a switch pays for
 * `systemctl enable` only when something changes.
 */
export async function enabledAtBoot(systemdDir: string, units: string[]): Promise<Set<string>> {
  const wants = path.join(systemdDir, "multi-user.target.wants");
  const found = await Promise.all(
    units.map((u) =>
      lstat(path.join(wants, u)).then(
        () => true,
        () => false,
      ),
    ),
  );
  return new Set(units.filter((_, i) => found[i]));
}

// --no-reload: the links are what the next boot reads; the running manager needs no reload for them.
export async function enable(run: Runner, units: string[]): Promise<void> {
  if (units.length === 0) return;
  await run("systemctl", ["enable", "--no-reload", ...units], { code: "SYSTEMD", hint });
}

export async function disable(run: Runner, units: string[]): Promise<void> {
  if (units.length === 0) return;
  await run("systemctl", ["disable", "--no-reload", ...units], { code: "SYSTEMD", hint });
}

export async function isActive(run: Runner, unit: string): Promise<boolean> {
  return (await run("systemctl", ["is-active", "--quiet", unit], { reject: false })).exitCode === 0;
}

export async function journalTail(run: Runner, unit: string, lines = 20): Promise<string> {
  const r = await run("journalctl", ["-u", unit, "-n", String(lines), "--no-pager", "-o", "short-iso"], {
    reject: false,
  });
  return r.stdout.trim();
}

/** Is systemd the init system here? */
export async function systemdRunning(run: Runner): Promise<boolean> {
  const r = await run("systemctl", ["is-system-running"], { reject: false });
  return ["running", "degraded", "starting"].includes(r.stdout.trim());
}
