import { describe, expect, it } from "vitest";
import type { Config } from "../../../src/config/types.js";
import {
  formatPlan,
  planDeploy,
  planRollback,
  planSwitch,
  type DeployPlanInput,
  type Plan,
} from "../../../src/core/plan.js";
import { sha, testConfig } from "../helpers/config.js";

function input(over: Partial<DeployPlanInput> = {}, patch?: (c: Config) => void): DeployPlanInput {
  return {
    config: testConfig(patch),
    live: null,
    idle: "blue",
    sha: "0123456789abcdef0123456789abcdef01234567",
    changedFiles: [],
    fallbackToIdle: false,
    noSwitch: false,
    ...over,
  };
}

const names = (p: Plan) => p.steps.map((s) => s.name);
const step = (p: Plan, name: string) => p.steps.find((s) => s.name === name);
const detail = (p: Plan, name: string) => step(p, name)?.detail;
const hooks = (c: Config) =>
  (c.hooks = {
    preSwitch: "python migrate.py",
    postSwitch: "./notify",
    postRollback: "./smoke",
    timeoutSec: 60,
  });

describe("planDeploy", () => {
  it("plans a first deploy: every step from the fetch to the watch, no drain of an old color", () => {
    const p = planDeploy(input({ changedFiles: ["/etc/systemd/system/demo-api@.service"] }));
    expect(names(p)).toEqual([
      "fetch",
      "required env",
      "checkout",
      "pip install",
      "units",
      "ports",
      "start",
      "health",
      "switch nginx",
      "watch",
    ]);
    expect(p).toMatchObject({ command: "deploy", from: null, to: { color: "blue", sha: input().sha } });
    expect(detail(p, "fetch")).toBe("/srv/origin/app.git into /srv/demo/blue (the idle color)");
    expect(detail(p, "checkout")).toBe("0123456789ab, detached, forced, untracked files removed");
    expect(detail(p, "pip install")).toBe(
      "venv of blue from /usr/bin/python3 (made if missing); pip install -r requirements.txt only if it or the interpreter changed",
    );
    expect(detail(p, "units")).toBe("write /etc/systemd/system/demo-api@.service; daemon-reload");
    expect(detail(p, "ports")).toBe(":8000, :8501 free, or held by blue's own units");
    expect(detail(p, "start")).toBe("restart api :8000, web :8501");
    expect(detail(p, "health")).toBe(
      "healthy for 0.5 s (>= 3 answers, every 0.1 s) from /health, /_stcore/health within 60 s",
    );
    expect(detail(p, "switch nginx")).toBe("blue, nginx -t, reload, confirm");
    expect(detail(p, "watch")).toBe("health of blue for 10 s; failure fails the run");
  });

  it("plans a deploy next to a live color: the switch names it, then drains and stops it", () => {
    const p = planDeploy(input({ live: { color: "blue", sha: sha("b") }, idle: "green" }));
    expect(names(p).slice(-3)).toEqual(["switch nginx", "watch", "drain + stop old"]);
    expect(detail(p, "fetch")).toBe("/srv/origin/app.git into /srv/demo/green (the idle color)");
    expect(detail(p, "units")).toBe("unchanged");
    expect(detail(p, "start")).toBe("restart api :8001, web :8502");
    expect(detail(p, "switch nginx")).toBe(
      "blue -> green, by the flag armed during health (else nginx -t, reload), confirm",
    );
    expect(detail(p, "watch")).toBe("health of green for 10 s; failure switches back to blue");
    expect(detail(p, "drain + stop old")).toBe(
      "grace 5 s, then wait up to 30 s for connections to blue to end, then stop it",
    );
  });

  it("says what the fetch will find when the commit is not known yet", () => {
    const p = planDeploy(input({ sha: null, changedFiles: null }));
    expect(p.to.sha).toBeNull();
    expect(detail(p, "checkout")).toBe("the fetched commit, detached, forced, untracked files removed");
    expect(detail(p, "units")).toBe("write what changed; daemon-reload if anything did");
  });

  it("ends nginx's fallback to the idle color alongside the checkout, before anything starts there", () => {
    const p = planDeploy(
      input({ live: { color: "blue", sha: sha("b") }, idle: "green", fallbackToIdle: true }),
    );
    expect(names(p).slice(0, 4)).toEqual(["fetch", "required env", "end fallback", "checkout"]);
    expect(step(p, "end fallback")?.alongsideNext).toBe(true);
    expect(formatPlan(p).split("\n")[3]).toMatch(/^ 4\. checkout .* \(alongside the step before\)$/);
  });

  it("keeps the old color as warm standby when standby > 0", () => {
    const p = planDeploy(
      input({ live: { color: "green", sha: sha("c") }, idle: "blue" }, (c) => (c.switch.standbySec = 300)),
    );
    expect(detail(p, "drain + stop old")).toBe(
      "grace 5 s, then wait up to 30 s for connections to green to end, then keep it as warm standby for 300 s",
    );
  });

  it("has no watch step when watch is 0", () => {
    const p = planDeploy(
      input({ live: { color: "blue", sha: sha("b") }, idle: "green" }, (c) => (c.switch.watchSec = 0)),
    );
    expect(names(p)).not.toContain("watch");
    expect(names(p).at(-1)).toBe("drain + stop old");
  });

  it("runs the pre_switch hook last before the switch and the post_switch hook after the drain", () => {
    const p = planDeploy(input({ live: { color: "blue", sha: sha("b") }, idle: "green" }, hooks));
    expect(names(p).slice(-6)).toEqual([
      "health",
      "pre_switch hook",
      "switch nginx",
      "watch",
      "drain + stop old",
      "post_switch hook",
    ]);
    expect(step(p, "pre_switch hook")).toMatchObject({ detail: "python migrate.py", undo: "stop" });
    expect(step(p, "post_switch hook")).toMatchObject({ mayFail: true });
  });

  it("with --no-switch, stops at the preview: no hook, no switch, no drain", () => {
    const p = planDeploy(
      input({ live: { color: "blue", sha: sha("b") }, idle: "green", noSwitch: true }, hooks),
    );
    expect(names(p).slice(-3)).toEqual(["start", "health", "preview"]);
    expect(detail(p, "preview")).toBe("the preview server shows green; blue stays live");
  });

  it("undoes a failure from the checkout to the pre_switch hook by stopping the idle color, never before", () => {
    const p = planDeploy(input({ live: { color: "blue", sha: sha("b") }, idle: "green" }, hooks));
    const undo = Object.fromEntries(p.steps.map((s) => [s.name, s.undo ?? null]));
    expect(undo).toMatchObject({
      fetch: null,
      "required env": null,
      checkout: "stop",
      "pip install": "stop",
      units: "stop",
      ports: "stop",
      start: "stop",
      health: "stop",
      "pre_switch hook": "stop",
      "switch nginx": "stop-if-refused",
      watch: "switch-back",
      "drain + stop old": null,
      "post_switch hook": null,
    });
  });

  it("lists every changed unit file", () => {
    const p = planDeploy(input({ changedFiles: ["/a.service", "/b.conf"] }));
    expect(detail(p, "units")).toBe("write /a.service, /b.conf; daemon-reload");
  });
});

describe("planRollback", () => {
  const live = { color: "green" as const, sha: sha("n") };
  const back = { color: "blue" as const, sha: sha("o") };

  it("to a warm standby is the switch and what follows it, nothing started", () => {
    const p = planRollback({ config: testConfig(hooks), live, back, warm: true });
    expect(names(p)).toEqual(["switch nginx", "watch", "drain + stop old", "post_rollback hook"]);
    expect(p).toMatchObject({ command: "rollback", from: live, to: back });
    // no health gate to arm it during
    expect(detail(p, "switch nginx")).toBe("green -> blue, nginx -t, reload, confirm");
  });

  it("to a stopped color brings it up first (units, start, health), without a port check or pre_switch hook", () => {
    const p = planRollback({ config: testConfig(hooks), live, back, warm: false });
    expect(names(p)).toEqual([
      "units",
      "start",
      "health",
      "switch nginx",
      "watch",
      "drain + stop old",
      "post_rollback hook",
    ]);
    expect(detail(p, "start")).toBe("restart api :8000, web :8501");
    expect(detail(p, "switch nginx")).toBe(
      "green -> blue, by the flag armed during health (else nginx -t, reload), confirm",
    );
  });
});

describe("planSwitch", () => {
  const live = { color: "blue" as const, sha: sha("a") };
  const staged = { color: "green" as const, sha: sha("b") };

  it("checks the environment and the health again, runs pre_switch, then switches", () => {
    const p = planSwitch({ config: testConfig(hooks), live, staged, running: true });
    expect(names(p)).toEqual([
      "required env",
      "health",
      "pre_switch hook",
      "switch nginx",
      "watch",
      "drain + stop old",
      "post_switch hook",
    ]);
  });

  it("starts the staged color when it no longer runs", () => {
    const p = planSwitch({ config: testConfig(), live, staged, running: false });
    expect(names(p).slice(0, 3)).toEqual(["required env", "start", "health"]);
  });
});

describe("formatPlan", () => {
  const plan = (steps: { name: string; detail: string }[]): Plan =>
    ({ command: "deploy", from: null, to: { color: "blue", sha: null }, steps }) as Plan;

  it("numbers the steps and aligns the details after the longest name", () => {
    const text = formatPlan(
      plan([
        { name: "fetch", detail: "one" },
        { name: "drain + stop old", detail: "two" },
        { name: "x", detail: "three" },
      ]),
    );
    expect(text).toBe(
      [" 1. fetch             one", " 2. drain + stop old  two", " 3. x                 three"].join("\n"),
    );
  });

  it("right-aligns two-digit step numbers", () => {
    const steps = Array.from({ length: 10 }, (_, i) => ({ name: `s${i}`, detail: `d${i}` }));
    const lines = formatPlan(plan(steps)).split("\n");
    expect(lines).toHaveLength(10);
    expect(lines[0]).toBe(" 1. s0  d0");
    expect(lines[9]).toBe("10. s9  d9");
  });

  it("aligns every detail of a real plan in one column", () => {
    const p = planDeploy(input({ live: { color: "green", sha: sha("d") } }, hooks));
    // "post_switch hook" and "drain + stop old" are the longest names: 16 chars.
    const column = 4 + 16 + 2;
    const lines = formatPlan(p).split("\n");
    expect(lines).toHaveLength(p.steps.length);
    lines.forEach((line, i) => {
      expect(line.slice(0, 4)).toBe(`${String(i + 1).padStart(2)}. `);
      expect(line.slice(4, column)).toBe(p.steps[i]!.name.padEnd(column - 4));
      expect(line.slice(column)).toBe(p.steps[i]!.detail);
    });
  });
});
