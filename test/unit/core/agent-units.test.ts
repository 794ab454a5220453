// The pure plan of `rf-agent install`: from the files it would write and what it found on the host.
import { describe, expect, it } from "vitest";
import { planInstall, sha256, type InstallInput, type Manifest } from "../../../src/core/agent-units.js";

const NOW = new Date("2025-01-02T03:04:05.000Z");
const unitPath = (u: string) => `/etc/systemd/system/${u}`;
const TIMER = "rf-agent-demo-deploy.timer";
const PATH = "rf-agent-demo-deploy.path";
const LISTENER = "rf-agent-demo-webhook.service";
const TEMPLATE = "rf-agent-demo-deploy@.service";

const file = (unit: string, content = `[Unit]\n# ${unit}\n`) => ({
  path: unitPath(unit),
  content,
  mode: 0o644,
});
const FILES = [file(TEMPLATE), file(TIMER), file(PATH), file(LISTENER)];
const UNITS = [TIMER, PATH, LISTENER];

/** What the install that wrote FILES left on the host. */
function installed(over: Partial<Manifest> = {}): Manifest {
  return {
    version: 1,
    app: "demo",
    installedAt: "2024-12-01T00:00:00.000Z",
    files: FILES.map((f) => ({ path: f.path, sha256: sha256(f.content) })),
    units: UNITS,
    generatedSecret: { path: "/etc/rf-agent/webhook.secret", sha256: "ab".repeat(32) },
    listenerInputs: "inputs-1",
    ...over,
  };
}

function input(over: Partial<InstallInput> = {}): InstallInput {
  return {
    app: "demo",
    files: FILES,
    units: UNITS,
    listener: LISTENER,
    unitPath,
    old: installed(),
    onDisk: new Map(FILES.map((f) => [f.path, f.content])),
    enabled: new Set(UNITS),
    listenerInputs: "inputs-1",
    generatedSecret: null,
    now: NOW,
    ...over,
  };
}

describe("planInstall", () => {
  it("a first install: every file written, one reload, every unit enabled and started, none restarted", () => {
    const plan = planInstall(
      input({
        old: null,
        onDisk: new Map(),
        enabled: new Set(),
        generatedSecret: { path: "/etc/rf-agent/webhook.secret", content: "s3cret\n" },
      }),
    );
    expect(plan.files.map((f) => f.changed)).toEqual([true, true, true, true]);
    expect(plan).toMatchObject({
      staleFiles: [],
      staleUnits: [],
      reload: true,
      enable: UNITS,
      start: UNITS,
      restart: [],
      nothing: false,
    });
    expect(plan.manifest).toEqual({
      version: 1,
      app: "demo",
      installedAt: NOW.toISOString(),
      files: FILES.map((f) => ({ path: f.path, sha256: sha256(f.content) })),
      units: UNITS,
      generatedSecret: { path: "/etc/rf-agent/webhook.secret", sha256: sha256("s3cret\n") },
      listenerInputs: "inputs-1",
    });
  });

  it("the same install again: nothing to change, no reload, the manifest's first date and secret kept", () => {
    const plan = planInstall(input());
    expect(plan.nothing).toBe(true);
    expect(plan.files.every((f) => !f.changed)).toBe(true);
    expect(plan).toMatchObject({ reload: false, enable: [], restart: [], start: UNITS });
    expect(plan.manifest.installedAt).toBe("2024-12-01T00:00:00.000Z");
    expect(plan.manifest.generatedSecret).toEqual(installed().generatedSecret);
  });

  it("a changed unit file is written, reloaded and its unit restarted; the others only started", () => {
    const changed = file(PATH, "[Unit]\n# new\n");
    const plan = planInstall(input({ files: [FILES[0]!, FILES[1]!, changed, FILES[3]!] }));
    expect(plan.files.filter((f) => f.changed).map((f) => f.path)).toEqual([unitPath(PATH)]);
    expect(plan).toMatchObject({ reload: true, restart: [PATH], start: [TIMER, LISTENER], nothing: false });
  });

  it("a changed config or secret restarts the listener alone, without a reload", () => {
    const plan = planInstall(input({ listenerInputs: "inputs-2" }));
    expect(plan).toMatchObject({ reload: false, restart: [LISTENER], start: [TIMER, PATH], nothing: false });
    expect(plan.manifest.listenerInputs).toBe("inputs-2");
  });

  it("a removed schedule: the timer's unit is stale (stopped first) and its file removed, with a reload", () => {
    const plan = planInstall(
      input({
        files: FILES.filter((f) => f.path !== unitPath(TIMER)),
        units: [PATH, LISTENER],
      }),
    );
    expect(plan).toMatchObject({
      staleUnits: [TIMER],
      staleFiles: [unitPath(TIMER)],
      reload: true,
      restart: [],
      start: [PATH, LISTENER],
      nothing: false,
    });
    expect(plan.manifest.units).toEqual([PATH, LISTENER]);
  });

  it("enables only what is not enabled yet (a unit someone disabled by hand)", () => {
    const plan = planInstall(input({ enabled: new Set([TIMER, LISTENER]) }));
    expect(plan).toMatchObject({ enable: [PATH], reload: false, nothing: false });
  });

  it("a unit that did not run before is started, not restarted, even when its file changed", () => {
    const changed = file(TIMER, "[Timer]\n# new\n");
    const plan = planInstall(
      input({
        old: installed({ units: [PATH, LISTENER] }),
        files: [FILES[0]!, changed, FILES[2]!, FILES[3]!],
      }),
    );
    expect(plan.restart).toEqual([]);
    expect(plan.start).toEqual(UNITS);
  });
});
