import { chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadState, rebuildState, saveState, type HostFacts } from "../../../src/adapters/state-store.js";
import type { Color } from "../../../src/config/types.js";
import { layoutFor, type Layout } from "../../../src/core/layout.js";
import { renderLiveInclude } from "../../../src/core/render.js";
import { afterSwitch, emptyState, withSlot, type State } from "../../../src/core/state.js";
import { sha, testConfig } from "../helpers/config.js";
import { captureLogger, dirsUnder, tempDir } from "../helpers/fakes.js";

let dir: string;
let cleanup: () => Promise<void>;
let layout: Layout;
const config = testConfig();
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  layout = layoutFor(config, dirsUnder(dir));
});
afterEach(() => cleanup());

/** Slot commits as the checkouts would report them; records which colors were asked. */
function host(slots: Partial<Record<Color, string>>): HostFacts & { asked: Color[] } {
  const asked: Color[] = [];
  return {
    asked,
    now: () => new Date("2026-12-02T08:00:00.000Z"),
    slotSha: async (c) => {
      asked.push(c);
      return slots[c] ?? null;
    },
  };
}

async function writeInclude(color: Color, commit: string): Promise<void> {
  const file = renderLiveInclude(config, layout, color, commit);
  await mkdir(path.dirname(file.path), { recursive: true });
  await writeFile(file.path, file.content);
}

async function writeStateText(text: string): Promise<void> {
  await mkdir(layout.stateDir, { recursive: true });
  await writeFile(layout.statePath, text);
}

describe("layout under a temp dir", () => {
  it("keeps every path of the test inside it", () => {
    for (const p of [layout.statePath, layout.liveIncludePath, layout.lockPath])
      expect(p.startsWith(dir)).toBe(true);
  });
});

describe("loadState", () => {
  it("without a state file, rebuilds it from the live include and the slots", async () => {
    await writeInclude("green", sha("b"));
    const { log, records } = captureLogger();
    const { state, rebuilt } = await loadState(layout, host({ blue: sha("a"), green: sha("b") }), log);
    expect(rebuilt).toBe(true);
    expect(state.app).toBe("demo");
    expect(state.live).toMatchObject({ color: "green", sha: sha("b") });
    expect(new Date(state.live!.since).getTime()).not.toBeNaN();
    expect(state.previous).toEqual({ color: "blue", sha: sha("a") });
    expect(state.slots.blue?.sha).toBe(sha("a"));
    expect(state.slots.green?.sha).toBe(sha("b"));
    expect(state.standby).toBeNull();
    expect(records.some((r) => r.level === 20 && r.msg === "no state file; reading the host")).toBe(true);
    expect(records.some((r) => Number(r.level) >= 40)).toBe(false);
  });

  it("without a state file or include, knows only the slots", async () => {
    const state = (await loadState(layout, host({ green: sha("c") }), captureLogger().log)).state;
    expect(state.live).toBeNull();
    expect(state.previous).toBeNull();
    expect(state.slots.blue).toBeNull();
    expect(state.slots.green?.sha).toBe(sha("c"));
  });

  it("has no previous when the other slot has no checkout", async () => {
    await writeInclude("blue", sha("a"));
    const state = (await loadState(layout, host({ blue: sha("a") }), captureLogger().log)).state;
    expect(state.live).toMatchObject({ color: "blue", sha: sha("a") });
    expect(state.previous).toBeNull();
  });

  it("ignores a damaged include", async () => {
    await mkdir(path.dirname(layout.liveIncludePath), { recursive: true });
    await writeFile(layout.liveIncludePath, "set $rf_live_color green;\nset $rf_live_sha nope;\n");
    const state = (await loadState(layout, host({}), captureLogger().log)).state;
    expect(state.live).toBeNull();
  });

  it("returns a valid state file as it is, without asking the host", async () => {
    const saved: State = withSlot(
      afterSwitch(emptyState("demo"), "blue", sha("d"), new Date(0)),
      "green",
      sha("e"),
      new Date(0),
    );
    await writeStateText(JSON.stringify(saved));
    await writeInclude("green", sha("f"));
    const facts = host({ blue: sha("1"), green: sha("2") });
    const { log, records } = captureLogger();
    expect(await loadState(layout, facts, log)).toEqual({ state: saved, rebuilt: false });
    expect(facts.asked).toEqual([]);
    expect(records.filter((r) => Number(r.level) >= 40)).toEqual([]);
  });

  it.each([
    ["corrupt JSON", () => '{"version": 1, "app": "demo", '],
    ["another app's state", () => JSON.stringify(emptyState("other-app"))],
    [
      "a bad sha",
      () =>
        JSON.stringify({
          ...emptyState("demo"),
          slots: { blue: { sha: "main", installedAt: "x" }, green: null },
        }),
    ],
    ["an empty file", () => ""],
  ])("rebuilds from the host and warns on %s", async (_, text) => {
    await writeStateText(text());
    await writeInclude("blue", sha("a"));
    const { log, records } = captureLogger();
    const { state, rebuilt } = await loadState(layout, host({ blue: sha("a"), green: sha("b") }), log);
    expect(rebuilt).toBe(true);
    expect(state.app).toBe("demo");
    expect(state.live).toMatchObject({ color: "blue", sha: sha("a") });
    expect(state.previous).toEqual({ color: "green", sha: sha("b") });
    const warnings = records.filter((r) => r.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      msg: "state file is corrupt; rebuilding it from the host",
      path: layout.statePath,
    });
  });
});

describe("rebuildState", () => {
  it("asks the host for both slots", async () => {
    const facts = host({});
    await rebuildState(layout, facts);
    expect(facts.asked.sort()).toEqual(["blue", "green"]);
  });
});

describe("saveState", () => {
  it("writes the state 0600 in a 0700 dir, and loadState reads it back", async () => {
    const state = afterSwitch(emptyState("demo"), "green", sha("9"), new Date("2025-06-01T00:00:00Z"));
    await saveState(layout, state);
    expect((await stat(layout.stateDir)).mode & 0o777).toBe(0o700);
    expect((await stat(layout.statePath)).mode & 0o777).toBe(0o600);
    const text = await readFile(layout.statePath, "utf8");
    expect(text.endsWith("}\n")).toBe(true);
    expect(JSON.parse(text)).toEqual(state);
    const facts = host({});
    expect((await loadState(layout, facts, captureLogger().log)).state).toEqual(state);
    expect(facts.asked).toEqual([]);
  });

  it("tightens a state dir that was too open", async () => {
    await mkdir(layout.stateDir, { recursive: true });
    await chmod(layout.stateDir, 0o755);
    await saveState(layout, emptyState("demo"));
    expect((await stat(layout.stateDir)).mode & 0o777).toBe(0o700);
  });
});
