import { describe, expect, it } from "vitest";
import {
  afterSwitch,
  emptyState,
  installedIn,
  idleColor,
  StateSchema,
  withSlot,
  type State,
} from "../../../src/core/state.js";
import { sha } from "../helpers/config.js";

const T0 = new Date("2025-01-02T03:04:05.000Z");
const T1 = new Date("2025-01-02T04:00:00.000Z");

function liveOn(color: "blue" | "green", commit: string): State {
  const s = emptyState("demo");
  return {
    ...s,
    live: { color, sha: commit, since: T0.toISOString() },
    slots: { ...s.slots, [color]: { sha: commit, installedAt: T0.toISOString() } },
  };
}

describe("emptyState", () => {
  it("is valid and knows nothing", () => {
    const s = emptyState("demo");
    expect(StateSchema.parse(s)).toEqual(s);
    expect(s).toMatchObject({
      version: 1,
      app: "demo",
      live: null,
      previous: null,
      slots: { blue: null, green: null },
      standby: null,
      staged: null,
    });
  });
});

describe("idleColor", () => {
  it("is blue when nothing is live", () => {
    expect(idleColor(emptyState("demo"))).toBe("blue");
  });
  it("is the color not serving", () => {
    expect(idleColor(liveOn("blue", sha("a")))).toBe("green");
    expect(idleColor(liveOn("green", sha("a")))).toBe("blue");
  });
});

describe("afterSwitch", () => {
  it("on a first switch sets live and the slot, and no previous", () => {
    const next = afterSwitch(emptyState("demo"), "blue", sha("a"), T1);
    expect(next.live).toEqual({ color: "blue", sha: sha("a"), since: T1.toISOString() });
    expect(next.previous).toBeNull();
    expect(next.slots.blue).toEqual({ sha: sha("a"), installedAt: T1.toISOString() });
    expect(next.slots.green).toBeNull();
    expect(StateSchema.safeParse(next).success).toBe(true);
  });

  it("remembers the color it switched away from as previous", () => {
    const before = withSlot(liveOn("blue", sha("a")), "green", sha("b"), T0);
    const next = afterSwitch(before, "green", sha("b"), T1);
    expect(next.live).toEqual({ color: "green", sha: sha("b"), since: T1.toISOString() });
    expect(next.previous).toEqual({ color: "blue", sha: sha("a") });
    // The slot was installed before the switch: its time is kept.
    expect(next.slots.green).toEqual({ sha: sha("b"), installedAt: T0.toISOString() });
    expect(next.slots.blue).toEqual(before.slots.blue);
  });

  it("keeps the earlier previous when switching to the color already live", () => {
    const before: State = { ...liveOn("green", sha("b")), previous: { color: "blue", sha: sha("a") } };
    const next = afterSwitch(before, "green", sha("c"), T1);
    expect(next.previous).toEqual({ color: "blue", sha: sha("a") });
    expect(next.live).toEqual({ color: "green", sha: sha("c"), since: T1.toISOString() });
  });

  it("does not change the state it was given", () => {
    const before = liveOn("blue", sha("a"));
    const copy = structuredClone(before);
    afterSwitch(before, "green", sha("b"), T1);
    expect(before).toEqual(copy);
  });

  it("keeps standby and app as they were", () => {
    const before: State = {
      ...liveOn("blue", sha("a")),
      standby: { color: "green", until: T1.toISOString() },
    };
    const next = afterSwitch(before, "green", sha("b"), T1);
    expect(next.standby).toEqual(before.standby);
    expect(next.app).toBe("demo");
  });
});

describe("withSlot", () => {
  it("records what a color's slot holds, leaving the rest", () => {
    const before = liveOn("blue", sha("a"));
    const next = withSlot(before, "green", sha("e"), T1);
    expect(next.slots.green).toEqual({ sha: sha("e"), installedAt: T1.toISOString() });
    expect(next.slots.blue).toEqual(before.slots.blue);
    expect(next.live).toEqual(before.live);
    expect(before.slots.green).toBeNull();
  });

  it("replaces an older entry of the same slot", () => {
    const next = withSlot(withSlot(emptyState("demo"), "blue", sha("a"), T0), "blue", sha("f"), T1);
    expect(next.slots.blue).toEqual({ sha: sha("f"), installedAt: T1.toISOString() });
  });
});

describe("StateSchema", () => {
  const valid = () => structuredClone(withSlot(liveOn("blue", sha("a")), "green", sha("b"), T0)) as State;

  it("accepts a valid state", () => {
    expect(StateSchema.safeParse(valid()).success).toBe(true);
  });

  it("reads a state file written before `staged` existed, as nothing staged", () => {
    const old = valid() as Partial<State>;
    delete old.staged;
    const parsed = StateSchema.safeParse(old);
    expect(parsed.success).toBe(true);
    expect(parsed.data?.staged).toBeNull();
  });

  it.each([
    ["a short live sha", (s: State) => (s.live!.sha = sha("a").slice(1))],
    ["an upper-case live sha", (s: State) => (s.live!.sha = sha("A"))],
    ["a non-hex slot sha", (s: State) => (s.slots.green!.sha = sha("g"))],
    ["a branch name as previous sha", (s: State) => (s.previous = { color: "green", sha: "main" })],
    ["an unknown color", (s: State) => ((s.live as { color: string }).color = "red")],
    ["another version", (s: State) => ((s as { version: number }).version = 2)],
  ])("rejects %s", (_, damage) => {
    const s = valid();
    damage(s);
    expect(StateSchema.safeParse(s).success).toBe(false);
  });

  it("rejects a state with a slot missing", () => {
    const s = valid() as unknown as { slots: Record<string, unknown> };
    delete s.slots.green;
    expect(StateSchema.safeParse(s).success).toBe(false);
  });
});

describe("installedIn", () => {
  it("puts the commit in the slot and ends a warm standby of that color only", () => {
    const now = new Date("2026-12-02T08:00:00.000Z");
    const base = {
      ...emptyState("demo"),
      standby: { color: "blue" as const, until: "2026-12-02T09:00:00.000Z" },
    };
    const blue = installedIn(base, "blue", "a".repeat(40), now);
    expect(blue.slots.blue).toEqual({ sha: "a".repeat(40), installedAt: now.toISOString() });
    expect(blue.standby).toBeNull();
    expect(installedIn(base, "green", "b".repeat(40), now).standby).toEqual(base.standby);
  });
});
