import { describe, expect, it } from "vitest";
import type { Config } from "../../../src/config/types.js";
import { formatPlan, planDeploy, type DeployPlanInput } from "../../../src/core/plan.js";
import { sha, testConfig } from "../helpers/config.js";

function input(over: Partial<DeployPlanInput> = {}, patch?: (c: Config) => void): DeployPlanInput {
  return {
    config: testConfig(patch),
    live: null,
    idle: "blue",
    sha: "0123456789abcdef0123456789abcdef01234567",
    changedFiles: [],
    firstDeploy: false,
    ...over,
  };
}

const titles = (i: DeployPlanInput) => planDeploy(i).map((s) => s.title);
const detail = (i: DeployPlanInput, title: string) => planDeploy(i).find((s) => s.title === title)?.detail;

describe("planDeploy", () => {
  it("plans a first deploy: host preparation, no drain of an old color", () => {
    const i = input({ firstDeploy: true, changedFiles: ["/etc/systemd/system/demo-api@.service"] });
    expect(titles(i)).toEqual([
      "prepare host",
      "fetch",
      "checkout",
      "venv + pip",
      "units",
      "start",
      "health",
      "switch nginx",
      "watch",
    ]);
    expect(detail(i, "prepare host")).toBe("user demo, /srv/demo owned by it, state dir");
    expect(detail(i, "fetch")).toBe("/srv/origin/app.git into /srv/demo/blue (the idle color)");
    expect(detail(i, "checkout")).toBe("0123456789ab, detached, forced, untracked files removed");
    expect(detail(i, "venv + pip")).toBe(
      "venv from /usr/bin/python3; pip install -r requirements.txt only if it changed",
    );
    expect(detail(i, "units")).toBe("write /etc/systemd/system/demo-api@.service; daemon-reload");
    expect(detail(i, "start")).toBe("restart api :8000, web :8501");
    expect(detail(i, "health")).toBe("3 answers in a row from /health, /_stcore/health within 60 s");
    expect(detail(i, "switch nginx")).toBe("blue, nginx -t, reload, confirm");
    expect(detail(i, "watch")).toBe("health of blue for 10 s; failure switches back");
  });

  it("plans a deploy next to a live color: the switch names it, then drains and stops it", () => {
    const i = input({ live: { color: "blue", sha: sha("b") }, idle: "green" });
    expect(titles(i)).toEqual([
      "fetch",
      "checkout",
      "venv + pip",
      "units",
      "start",
      "health",
      "switch nginx",
      "watch",
      "drain + stop old",
    ]);
    expect(detail(i, "fetch")).toBe("/srv/origin/app.git into /srv/demo/green (the idle color)");
    expect(detail(i, "units")).toBe("unchanged");
    expect(detail(i, "start")).toBe("restart api :8001, web :8502");
    expect(detail(i, "switch nginx")).toBe("blue -> green, nginx -t, reload, confirm");
    expect(detail(i, "drain + stop old")).toBe(
      "grace 5 s, then wait up to 30 s for connections to blue to end, then stop it",
    );
  });

  it("keeps the old color as warm standby when standby > 0", () => {
    const i = input(
      { live: { color: "green", sha: sha("c") }, idle: "blue" },
      (c) => (c.switch.standbySec = 300),
    );
    expect(detail(i, "drain + stop old")).toBe(
      "grace 5 s, then wait up to 30 s for connections to green to end, then keep it as warm standby for 300 s",
    );
  });

  it("has no watch step when watch is 0", () => {
    const i = input(
      { live: { color: "blue", sha: sha("b") }, idle: "green" },
      (c) => (c.switch.watchSec = 0),
    );
    expect(titles(i)).not.toContain("watch");
    expect(titles(i).at(-1)).toBe("drain + stop old");
  });

  it("lists every changed unit file", () => {
    const i = input({ changedFiles: ["/a.service", "/b.conf"] });
    expect(detail(i, "units")).toBe("write /a.service, /b.conf; daemon-reload");
  });
});

describe("formatPlan", () => {
  it("numbers the steps and aligns the details after the longest title", () => {
    const text = formatPlan([
      { title: "fetch", detail: "one" },
      { title: "drain + stop old", detail: "two" },
      { title: "x", detail: "three" },
    ]);
    expect(text).toBe(
      [" 1. fetch             one", " 2. drain + stop old  two", " 3. x                 three"].join("\n"),
    );
  });

  it("right-aligns two-digit step numbers", () => {
    const steps = Array.from({ length: 10 }, (_, i) => ({ title: `s${i}`, detail: `d${i}` }));
    const lines = formatPlan(steps).split("\n");
    expect(lines).toHaveLength(10);
    expect(lines[0]).toBe(" 1. s0  d0");
    expect(lines[9]).toBe("10. s9  d9");
  });

  it("aligns every detail of a real plan in one column", () => {
    const steps = planDeploy(input({ firstDeploy: true, live: { color: "green", sha: sha("d") } }));
    // "drain + stop old" is the longest title: 4 chars of number, 16 of title, 2 spaces.
    const column = 4 + "drain + stop old".length + 2;
    const lines = formatPlan(steps).split("\n");
    expect(lines).toHaveLength(steps.length);
    lines.forEach((line, i) => {
      expect(line.slice(0, 4)).toBe(`${String(i + 1).padStart(2)}. `);
      expect(line.slice(4, column)).toBe(steps[i]!.title.padEnd(column - 4));
      expect(line.slice(column)).toBe(steps[i]!.detail);
    });
  });
});
