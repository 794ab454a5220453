// systemctl and journalctl, one verb each.
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
