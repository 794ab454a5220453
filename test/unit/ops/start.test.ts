import { describe, expect, it } from "vitest";
import type { Config } from "../../../src/config/types.js";
import type { HttpGet } from "../../../src/adapters/health.js";
import { RfError } from "../../../src/errors.js";
import {
  checkPorts,
  crashOf,
  healthGate,
  quickHealthy,
  startColor,
  stopColor,
} from "../../../src/ops/start.js";
import { testConfig } from "../helpers/config.js";
import {
  failureOf,
  fakeContext,
  fakeGet,
  fakeRunner,
  ok,
  status,
  type FakeRunner,
} from "../helpers/fakes.js";

const PROPS = "ActiveState,SubState,MainPID,NRestarts,Result,ExecMainStatus";
const commands = (run: FakeRunner) => run.calls.map((c) => [c.file, ...c.args].join(" "));

/** Health kept short: 1 ms between checks, 5 ms stable, 0.2 s to give up, 2 successes. */
function ctxWith(parts: { get?: HttpGet; run?: FakeRunner }, patch?: (c: Config) => void) {
  const config = testConfig((c) => {
    c.health = { timeoutSec: 0.2, intervalSec: 0.001, stableSec: 0.005, successes: 2 };
    patch?.(c);
  });
  return fakeContext(config, { get: parts.get, run: parts.run ?? fakeRunner() });
}

const RUNNING = "ActiveState=active\nSubState=running\nNRestarts=0\nResult=success\nExecMainStatus=0";
const CRASHED = "ActiveState=failed\nSubState=failed\nNRestarts=0\nResult=exit-code\nExecMainStatus=1";
const RESTARTED = "ActiveState=active\nSubState=running\nNRestarts=1\nResult=success\nExecMainStatus=1";
const STARTING = "ActiveState=activating\nSubState=start\nNRestarts=0\nResult=success\nExecMainStatus=0";

/**
 * systemctl show / journalctl answers of units that are running, crashed, or restarted by systemd;
 * `state` may change with each question (the count of `show`s so far).
 */
function systemd(state: "running" | "crashed" | "restarted" | ((shows: number) => string)): FakeRunner {
  let shows = 0;
  const props = (): string => {
    const s = typeof state === "function" ? state(shows) : state;
    return { running: RUNNING, crashed: CRASHED, restarted: RESTARTED }[s] ?? STARTING;
  };
  return fakeRunner((file, args) => {
    if (file === "journalctl") return { stdout: `journal of ${args[1]}\nTraceback: boom` };
    if (file === "systemctl" && args[0] === "show") {
      shows += 1;
      const p = props();
      // statuses(): --property=Id,... then the units, one Id'd block each; status(): one unit first
      if (args[1]?.startsWith("--property=Id,")) {
        return {
          stdout: args
            .slice(2)
            .map((u) => `Id=${u}\n${p}`)
            .join("\n\n"),
        };
      }
      return { stdout: p };
    }
    return {};
  });
}

describe("healthGate", () => {
  it("passes when every service answered 2xx long enough and systemd agrees, giving each one's times", async () => {
    const get = fakeGet(() => ok());
    const run = systemd("running");
    const times = await healthGate(ctxWith({ get, run }), "green");
    expect(Object.keys(times.ms).sort()).toEqual(["api", "web"]);
    expect(Object.keys(times.firstHealthyMs).sort()).toEqual(["api", "web"]);
    for (const name of ["api", "web"]) {
      expect(times.ms[name]).toBeGreaterThanOrEqual(5);
      expect(times.firstHealthyMs[name]).toBeGreaterThanOrEqual(0);
      expect(times.firstHealthyMs[name]).toBeLessThanOrEqual(times.ms[name]!);
    }
    expect(new Set(get.calls.map((c) => c.url))).toEqual(
      new Set(["http://127.0.0.1:8001/health", "http://127.0.0.1:8502/_stcore/health"]),
    );
    // systemd asked once per service, when it would pass, about the color's units in one show
    const shows = commands(run).filter((c) => c.startsWith("systemctl show"));
    expect(shows).toEqual([
      `systemctl show --property=Id,${PROPS} demo-api@green.service demo-web@green.service`,
      `systemctl show --property=Id,${PROPS} demo-api@green.service demo-web@green.service`,
    ]);
  });

  it("starts a service's streak over while its unit is not active yet", async () => {
    const get = fakeGet(() => ok());
    // The first show of each service says activating, later ones active.
    const run = systemd((shows) => (shows <= 2 ? "starting" : "running"));
    const times = await healthGate(ctxWith({ get, run }), "blue");
    expect(Object.keys(times.ms).sort()).toEqual(["api", "web"]);
    expect(commands(run).filter((c) => c.startsWith("systemctl show"))).toHaveLength(4);
  });

  it("fails as HEALTH when the process that answered was restarted by systemd", async () => {
    const get = fakeGet(() => ok());
    const ctx = ctxWith({ get, run: systemd("restarted") }, (c) => (c.health.timeoutSec = 60));
    const started = Date.now();
    const e = await failureOf(healthGate(ctx, "blue"));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(e.code).toBe("HEALTH");
    expect(e.message).toBe(
      "the blue api never became healthy: demo-api@blue.service exited at start (status 1, 1 restarts, result success)",
    );
  });

  it("says a staged color it did not start was restarted, not that it exited at start", async () => {
    const get = fakeGet(() => ok());
    const ctx = ctxWith({ get, run: systemd("restarted") }, (c) => (c.health.timeoutSec = 60));
    const e = await failureOf(healthGate(ctx, "blue", false));
    expect(e.code).toBe("HEALTH");
    expect(e.message).toBe(
      "the blue api never became healthy: demo-api@blue.service exited (status 1) and systemd restarted it once since it was started",
    );
  });

  it("fails as HEALTH naming the service, with its journal, when it never gets healthy", async () => {
    const get = fakeGet((url) => (url.includes("8501") ? status(503) : ok()));
    const run = systemd("running");
    const e = await healthGate(ctxWith({ get, run }), "blue").catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RfError);
    const err = e as RfError;
    expect(err.code).toBe("HEALTH");
    expect(err.message).toBe("the blue web never became healthy: not healthy after 0 s (last: HTTP 503)");
    expect(err.details).toBe(
      "--- last lines of demo-web@blue.service (journalctl -u demo-web@blue.service) ---\n" +
        "journal of demo-web@blue.service\nTraceback: boom",
    );
    expect(err.hint).toContain("the live color was not touched");
    expect(commands(run)).toContain("journalctl -u demo-web@blue.service -n 15 --no-pager -o short-iso");
    expect(commands(run)).not.toContain("journalctl -u demo-api@blue.service -n 15 --no-pager -o short-iso");
  });

  it("stops waiting as soon as systemd says the unit crashed", async () => {
    const get = fakeGet(() => status(0, "connect ECONNREFUSED"));
    const ctx = ctxWith({ get, run: systemd("crashed") }, (c) => (c.health.timeoutSec = 60));
    const started = Date.now();
    const e = (await healthGate(ctx, "blue").catch((x: unknown) => x)) as RfError;
    expect(Date.now() - started).toBeLessThan(5000);
    expect(e.code).toBe("HEALTH");
    expect(e.message).toBe(
      "the blue api never became healthy: demo-api@blue.service exited at start (status 1, 0 restarts, result exit-code)",
    );
    expect(e.details).toContain("--- last lines of demo-web@blue.service");
  });
});

describe("crashOf", () => {
  const unit = (activeState: string, restarts: number, result = "exit-code") => ({
    unit: "demo-api@blue.service",
    activeState,
    subState: "",
    mainPid: 0,
    restarts,
    result,
    execMainStatus: 1,
  });

  it("says nothing of a unit that runs and was never restarted", () => {
    expect(crashOf(unit("active", 0, "success"))).toBeNull();
    expect(crashOf(unit("activating", 0, "success"), false)).toBeNull();
  });

  it("says a unit the run just started and that died or restarted exited at start", () => {
    expect(crashOf(unit("failed", 0))).toBe(
      "demo-api@blue.service exited at start (status 1, 0 restarts, result exit-code)",
    );
    expect(crashOf(unit("active", 1, "success"))).toBe(
      "demo-api@blue.service exited at start (status 1, 1 restarts, result success)",
    );
  });

  it("says a unit found running (a staged color) was restarted, or has exited, not that it did so at start", () => {
    expect(crashOf(unit("active", 1, "success"), false)).toBe(
      "demo-api@blue.service exited (status 1) and systemd restarted it once since it was started",
    );
    expect(crashOf(unit("active", 3, "success"), false)).toBe(
      "demo-api@blue.service exited (status 1) and systemd restarted it 3 times since it was started",
    );
    expect(crashOf(unit("failed", 0), false)).toBe(
      "demo-api@blue.service has exited (status 1, result exit-code)",
    );
  });
});

describe("quickHealthy", () => {
  it("is true when every service answers 2xx once, asking each on this color's port", async () => {
    const get = fakeGet(() => ok());
    expect(await quickHealthy(ctxWith({ get }), "blue")).toBe(true);
    expect(get.calls).toEqual([
      { url: "http://127.0.0.1:8000/health", opts: { timeoutMs: 1500 } },
      { url: "http://127.0.0.1:8501/_stcore/health", opts: { timeoutMs: 1500 } },
    ]);
  });

  it("is false when one service fails", async () => {
    const get = fakeGet((url) => (url.includes("_stcore") ? status(500) : ok()));
    expect(await quickHealthy(ctxWith({ get }), "green")).toBe(false);
  });
});

describe("startColor / stopColor", () => {
  it("resets failed units, then restarts them for a fresh release", async () => {
    const run = fakeRunner();
    await startColor(ctxWith({ run }), "green", { fresh: true });
    expect(commands(run)).toEqual([
      "systemctl reset-failed demo-api@green.service demo-web@green.service",
      "systemctl restart --no-block demo-api@green.service demo-web@green.service",
    ]);
  });

  it("only starts them otherwise", async () => {
    const run = fakeRunner();
    await startColor(ctxWith({ run }), "blue", { fresh: false });
    expect(commands(run).at(-1)).toBe(
      "systemctl start --no-block demo-api@blue.service demo-web@blue.service",
    );
  });

  it("stops every unit of the color", async () => {
    const run = fakeRunner();
    await stopColor(ctxWith({ run }), "blue");
    expect(commands(run)).toEqual(["systemctl stop demo-api@blue.service demo-web@blue.service"]);
  });
});

describe("checkPorts", () => {
  it("passes when the color's ports are free, asking one ss run about them all", async () => {
    const run = fakeRunner(() => ({ stdout: "" }));
    await checkPorts(ctxWith({ run }), "green");
    expect(commands(run)).toEqual(["ss -Htlnp ( sport = :8001 or sport = :8502 )"]);
  });

  it("fails as PORT_BUSY naming a stray process on a port", async () => {
    // A pid above pid_max: no such process, so it belongs to no unit of ours.
    const run = fakeRunner(() => ({
      stdout: 'LISTEN 0 128 127.0.0.1:8501 0.0.0.0:* users:(("python3",pid=99999999,fd=3))',
    }));
    const e = (await checkPorts(ctxWith({ run }), "blue").catch((x: unknown) => x)) as RfError;
    expect(e).toBeInstanceOf(RfError);
    expect(e.code).toBe("PORT_BUSY");
    expect(e.message).toBe("port 8501 of web (blue) is held by pid 99999999: ?");
    expect(e.hint).toBe(
      "stop that process (kill 99999999), or give [service.web] other ports, then deploy again",
    );
  });

  it("never tells the user to `kill 0`", async () => {
    const run = fakeRunner(() => ({ stdout: "LISTEN 0 128 127.0.0.1:8000 0.0.0.0:*" }));
    const e = (await checkPorts(ctxWith({ run }), "blue").catch((x: unknown) => x)) as RfError;
    expect(e.code).toBe("PORT_BUSY");
    expect(e.hint).not.toContain("kill 0");
  });
});
