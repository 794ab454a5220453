// watchNewColor and drain read Date.now(): only Date is faked, and the context's sleep moves it on,
// so seconds of watching and draining take no real time.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Config } from "../../../src/config/types.js";
import { drain, retireColor, rolledBack, watchNewColor } from "../../../src/ops/retire.js";
import { testConfig } from "../helpers/config.js";
import {
  captureLogger,
  fakeContext,
  fakeGet,
  fakeRunner,
  ok,
  status,
  type FakeRunner,
} from "../helpers/fakes.js";
import type { HttpGet } from "../../../src/adapters/health.js";

const T0 = new Date("2025-03-01T12:00:00.000Z").getTime();
let slept: number[];

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(T0);
  slept = [];
});
afterEach(() => {
  vi.useRealTimers();
});

/** Sleeping moves the fake clock on by exactly the time asked. */
const sleep = async (ms: number) => {
  slept.push(ms);
  vi.setSystemTime(Date.now() + ms);
};

const elapsed = () => Date.now() - T0;

function ctxWith(parts: { get?: HttpGet; run?: FakeRunner }, patch?: (c: Config) => void) {
  const { log, records } = captureLogger();
  const run = parts.run ?? fakeRunner();
  const ctx = fakeContext(testConfig(patch), { get: parts.get, run, log, sleep });
  return { ctx, run, records };
}

/** A health getter that fails (503) at the given check rounds; a round starts with the api's check. */
function healthByRound(failingRounds: number[]) {
  let round = -1;
  return fakeGet((url) => {
    if (!url.includes("/_stcore/")) round += 1;
    return failingRounds.includes(round) ? status(503) : ok();
  });
}

describe("watchNewColor", () => {
  it("is null when the new color stays healthy, checking both services every 0.5 s for watch seconds", async () => {
    const get = fakeGet(() => ok());
    const { ctx } = ctxWith({ get }, (c) => (c.switch.watchSec = 2));
    expect(await watchNewColor(ctx, "green", Date.now())).toBeNull();
    expect(elapsed()).toBe(2000);
    expect(slept).toEqual([500, 500, 500, 500]);
    expect(get.calls).toHaveLength(8);
    expect(new Set(get.calls.map((c) => c.url))).toEqual(
      new Set(["http://127.0.0.1:8001/health", "http://127.0.0.1:8502/_stcore/health"]),
    );
  });

  it("forgives one failed check", async () => {
    const { ctx } = ctxWith({ get: healthByRound([1]) }, (c) => (c.switch.watchSec = 3));
    expect(await watchNewColor(ctx, "green", Date.now())).toBeNull();
    expect(elapsed()).toBe(3000);
  });

  it("forgives failures that are not in a row", async () => {
    const { ctx } = ctxWith({ get: healthByRound([0, 2, 4]) }, (c) => (c.switch.watchSec = 3));
    expect(await watchNewColor(ctx, "blue", Date.now())).toBeNull();
  });

  it("gives the reason after two failed checks in a row, without waiting out the watch", async () => {
    const { ctx } = ctxWith({ get: healthByRound([2, 3]) }, (c) => (c.switch.watchSec = 10));
    expect(await watchNewColor(ctx, "green", Date.now())).toBe(
      "the green color failed its health check after the switch",
    );
    expect(elapsed()).toBe(1500);
  });

  it("counts a failure of either service", async () => {
    const get = fakeGet((url) => (url.includes("_stcore") ? status(0, "refused") : ok()));
    const { ctx } = ctxWith({ get }, (c) => (c.switch.watchSec = 10));
    expect(await watchNewColor(ctx, "blue", Date.now())).toBe(
      "the blue color failed its health check after the switch",
    );
    expect(get.calls.map((c) => c.url)).toContain("http://127.0.0.1:8501/_stcore/health");
  });

  it("measures the watch from the flip, not from when it is called", async () => {
    const get = fakeGet(() => ok());
    const { ctx } = ctxWith({ get }, (c) => (c.switch.watchSec = 2));
    expect(await watchNewColor(ctx, "green", Date.now() - 1700)).toBeNull();
    expect(slept).toEqual([300]);
    expect(get.calls).toHaveLength(2);
  });

  it("does nothing when watch is 0", async () => {
    const get = fakeGet(() => status(500));
    const { ctx } = ctxWith({ get }, (c) => (c.switch.watchSec = 0));
    expect(await watchNewColor(ctx, "green", Date.now())).toBeNull();
    expect(get.calls).toHaveLength(0);
  });
});

/** ss answering `counts[i]` established connections on its i-th call (the last repeats). */
function connections(counts: number[]): FakeRunner {
  let i = 0;
  return fakeRunner((file) => {
    if (file !== "ss") return {};
    const n = counts[Math.min(i++, counts.length - 1)] ?? 0;
    return {
      stdout: Array.from({ length: n }, (_, k) => `0 0 127.0.0.1:8000 127.0.0.1:${50000 + k}`).join("\n"),
    };
  });
}

describe("drain", () => {
  it("waits the grace period, then until the old color's connections end", async () => {
    const run = connections([3, 2, 0]);
    const { ctx } = ctxWith({ run });
    expect(await drain(ctx, "blue", Date.now())).toBe(0);
    expect(slept).toEqual([5000, 250, 250]);
    expect(elapsed()).toBe(5500);
    expect(run.calls).toHaveLength(3);
    expect(run.calls[0]!.args).toEqual([
      "-Htn",
      "state",
      "established",
      "( sport = :8000 or sport = :8501 )",
    ]);
  });

  it("watches the ports of the color it drains", async () => {
    const run = connections([0]);
    const { ctx } = ctxWith({ run });
    await drain(ctx, "green", Date.now());
    expect(run.calls[0]!.args.at(-1)).toBe("( sport = :8001 or sport = :8502 )");
  });

  it("gives up at the drain deadline and says how many connections remain", async () => {
    const { ctx } = ctxWith({ run: connections([2]) }, (c) => {
      c.switch.graceSec = 1;
      c.switch.drainSec = 3;
    });
    expect(await drain(ctx, "blue", Date.now())).toBe(2);
    expect(elapsed()).toBe(3000);
    expect(slept[0]).toBe(1000);
    expect(slept.slice(1).every((ms) => ms === 250)).toBe(true);
  });

  it("ends with the grace period when drain is shorter than grace", async () => {
    const run = connections([4]);
    const { ctx } = ctxWith({ run }, (c) => {
      c.switch.graceSec = 2;
      c.switch.drainSec = 1;
    });
    expect(await drain(ctx, "blue", Date.now())).toBe(4);
    expect(slept).toEqual([2000]);
    expect(run.calls).toHaveLength(1);
  });

  it("does not sleep out a grace period that has already passed", async () => {
    const { ctx } = ctxWith({ run: connections([0]) });
    expect(await drain(ctx, "blue", Date.now() - 6000)).toBe(0);
    expect(slept).toEqual([]);
  });

  it("with grace and drain 0, checks once and returns at once", async () => {
    const run = connections([1]);
    const { ctx } = ctxWith({ run }, (c) => {
      c.switch.graceSec = 0;
      c.switch.drainSec = 0;
    });
    expect(await drain(ctx, "blue", Date.now())).toBe(1);
    expect(slept).toEqual([]);
    expect(run.calls).toHaveLength(1);
  });
});

describe("retireColor", () => {
  const commands = (run: FakeRunner) =>
    run.calls.filter((c) => c.file !== "ss").map((c) => [c.file, ...c.args].join(" "));

  it("stops the old color once it drained", async () => {
    const run = connections([0]);
    const { ctx, records } = ctxWith({ run });
    expect(await retireColor(ctx, "blue", Date.now())).toEqual({ open: 0, standby: false });
    expect(commands(run)).toEqual(["systemctl stop demo-api@blue.service demo-web@blue.service"]);
    expect(records.filter((r) => r.level === 40)).toEqual([]);
  });

  it("keeps it running as warm standby when standby > 0", async () => {
    const run = connections([0]);
    const { ctx, records } = ctxWith({ run }, (c) => (c.switch.standbySec = 600));
    expect(await retireColor(ctx, "green", Date.now())).toEqual({ open: 0, standby: true });
    expect(commands(run)).toEqual([]);
    expect(records.some((r) => r.msg === "keeping green running as warm standby" && r.seconds === 600)).toBe(
      true,
    );
  });

  it("warns about connections still open at the deadline, then stops anyway", async () => {
    const run = connections([5]);
    const { ctx, records } = ctxWith({ run }, (c) => {
      c.switch.graceSec = 0;
      c.switch.drainSec = 1;
    });
    expect(await retireColor(ctx, "blue", Date.now())).toEqual({ open: 5, standby: false });
    expect(records.filter((r) => r.level === 40).map((r) => r.msg)).toEqual([
      "5 connections to the blue color were still open at the drain deadline",
    ]);
    expect(commands(run)).toEqual(["systemctl stop demo-api@blue.service demo-web@blue.service"]);
  });
});

describe("rolledBack", () => {
  it("is a ROLLED_BACK error, exit code 3, naming the color serving again", () => {
    const e = rolledBack("the green color failed its health check after the switch", "blue");
    expect(e).toMatchObject({
      code: "ROLLED_BACK",
      exitCode: 3,
      message: "the green color failed its health check after the switch; switched back to the blue color",
    });
    expect(e.hint).toContain("previous version is serving again");
  });
});
