// systemctl (and systemd-analyze), one verb each: the only module that runs them.
import { lstat } from "node:fs/promises";
import path from "node:path";
import type { ErrorCode } from "../errors.js";
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

const STATUS_PROPERTIES = "ActiveState,SubState,MainPID,NRestarts,Result,ExecMainStatus";

// `systemctl show` prints KEY=VALUE lines; a value may hold "=".
function properties(block: string): Map<string, string> {
  return new Map(
    block
      .split("\n")
      .filter((l) => l.includes("="))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const),
  );
}

function unitStatusOf(unit: string, props: Map<string, string>): UnitStatus {
  return {
    unit,
    activeState: props.get("ActiveState") ?? "unknown",
    subState: props.get("SubState") ?? "unknown",
    mainPid: Number(props.get("MainPID") ?? 0),
    restarts: Number(props.get("NRestarts") ?? 0),
    result: props.get("Result") ?? "unknown",
    execMainStatus: Number(props.get("ExecMainStatus") ?? 0),
  };
}

export async function status(run: Runner, unit: string): Promise<UnitStatus> {
  const r = await run("systemctl", ["show", unit, `--property=${STATUS_PROPERTIES}`], { reject: false });
  return unitStatusOf(unit, properties(r.stdout));
}

/** The status of each unit, in one `systemctl show` for all of them; "unknown" where systemctl said nothing. */
export async function statuses(run: Runner, units: string[]): Promise<Map<string, UnitStatus>> {
  const found = new Map<string, Map<string, string>>();
  if (units.length > 0) {
    const r = await run("systemctl", ["show", `--property=Id,${STATUS_PROPERTIES}`, ...units], {
      reject: false,
    });
    // One block per unit, blank-line separated, each naming its unit in Id.
    for (const block of r.stdout.split(/\n\s*\n/)) {
      const props = properties(block);
      const id = props.get("Id");
      if (id) found.set(id, props);
    }
  }
  return new Map(units.map((u) => [u, unitStatusOf(u, found.get(u) ?? new Map())]));
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

export async function isEnabled(run: Runner, unit: string): Promise<boolean> {
  return (await run("systemctl", ["is-enabled", "--quiet", unit], { reject: false })).exitCode === 0;
}

/** Is systemd the init system here? */
export async function systemdRunning(run: Runner): Promise<boolean> {
  const r = await run("systemctl", ["is-system-running"], { reject: false });
  return ["running", "degraded", "starting"].includes(r.stdout.trim());
}

/** Enabled at boot, in one call that also reloads systemd. */
export async function enableUnits(run: Runner, units: string[]): Promise<void> {
  if (units.length === 0) return;
  await run("systemctl", ["enable", ...units], { code: "SYSTEMD", hint });
}

/** Blocking: returns once systemd has started (or restarted) each unit, or throws. */
export async function startUnits(run: Runner, units: string[], restart = false): Promise<void> {
  if (units.length === 0) return;
  await run("systemctl", [restart ? "restart" : "start", ...units], {
    code: "SYSTEMD",
    hint,
    timeoutMs: 60_000,
  });
}

/** Stops and disables; units that are already gone are fine. */
export async function disableNow(run: Runner, units: string[]): Promise<void> {
  if (units.length === 0) return;
  await run("systemctl", ["disable", "--now", ...units], { reject: false, timeoutMs: 120_000 });
}

/**
 * A transient timer (systemd-run --on-active) that runs `command` once, `seconds` from now, to the
 * second. Resolves to systemd's complaint when it refused, else null.
 */
export async function transientTimer(
  run: Runner,
  t: { unit: string; seconds: number; description: string; env: Record<string, string>; command: string[] },
): Promise<string | null> {
  const r = await run(
    "systemd-run",
    [
      `--unit=${t.unit}`,
      `--on-active=${Math.ceil(t.seconds)}s`,
      "--timer-property=AccuracySec=1s",
      `--description=${t.description}`,
      ...Object.entries(t.env).map(([k, v]) => `--setenv=${k}=${v}`),
      ...t.command,
    ],
    { reject: false },
  );
  return r.exitCode === 0 ? null : r.stderr.trim();
}

/** Best effort: stops what runs; units that are not there are fine. */
export async function stopUnits(run: Runner, units: string[]): Promise<void> {
  if (units.length === 0) return;
  await run("systemctl", ["stop", ...units], { reject: false, timeoutMs: 120_000 });
}

/** What a failure of a unit's own verb is reported as (nginx.service: NGINX, with its hint). */
export interface UnitFailure {
  code: ErrorCode;
  hint: string;
}

/** A signal to the unit's main process only; false when systemd could not send it (not running). */
export async function signalMain(run: Runner, unit: string, signal: string): Promise<boolean> {
  const r = await run("systemctl", ["kill", "--kill-whom=main", `--signal=${signal}`, unit], {
    reject: false,
  });
  return r.exitCode === 0;
}

/** The unit's ExecReload=. */
export async function reloadUnit(run: Runner, unit: string, failure: UnitFailure): Promise<void> {
  await run("systemctl", ["reload", unit], failure);
}

/** Enabled at boot and started now. */
export async function enableNow(run: Runner, unit: string, failure: UnitFailure): Promise<void> {
  await run("systemctl", ["enable", "--now", unit], failure);
}

/** systemd's own parser of OnCalendar= expressions; the output says why one is wrong. */
export async function checkCalendar(
  run: Runner,
  expression: string,
): Promise<{ ok: boolean; output: string }> {
  const r = await run("systemd-analyze", ["calendar", "--", expression], { reject: false });
  return { ok: r.exitCode === 0, output: `${r.stdout}\n${r.stderr}`.trim() };
}
