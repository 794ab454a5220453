// The systemctl and systemd-analyze verbs install and uninstall need beyond adapters/systemd.ts.
import type { Runner } from "../exec/runner.js";

const hint = "see `systemctl status` and `journalctl -xe` for the unit";

export async function isEnabled(run: Runner, unit: string): Promise<boolean> {
  return (await run("systemctl", ["is-enabled", "--quiet", unit], { reject: false })).exitCode === 0;
}

/** Enables (and so reloads systemd) only what is not enabled yet. Returns the units it enabled. */
export async function enableMissing(run: Runner, units: string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const u of units) if (!(await isEnabled(run, u))) missing.push(u);
  if (missing.length) await run("systemctl", ["enable", ...missing], { code: "SYSTEMD", hint });
  return missing;
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

export async function stopUnits(run: Runner, units: string[]): Promise<void> {
  if (units.length === 0) return;
  await run("systemctl", ["stop", ...units], { reject: false, timeoutMs: 120_000 });
}

/** systemd's own parser of OnCalendar= expressions; the output says why one is wrong. */
export async function checkCalendar(
  run: Runner,
  expression: string,
): Promise<{ ok: boolean; output: string }> {
  const r = await run("systemd-analyze", ["calendar", "--", expression], { reject: false });
  return { ok: r.exitCode === 0, output: `${r.stdout}\n${r.stderr}`.trim() };
}
