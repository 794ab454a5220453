import { describe, expect, it } from "vitest";
import type { Config } from "../../../src/config/types.js";
import type { HttpGet } from "../../../src/adapters/health.js";
import { RfError } from "../../../src/errors.js";
import { checkPorts, healthGate, quickHealthy, startColor, stopColor } from "../../../src/ops/start.js";
import { testConfig } from "../helpers/config.js";
import { fakeContext, fakeGet, fakeRunner, ok, status, type FakeRunner } from "../helpers/fakes.js";

const commands = (run: FakeRunner) => run.calls.map((c) => [c.file, ...c.args].join(" "));

/** Health kept short: 1 ms between checks, 0.2 s to give up, 2 successes. */
function ctxWith(parts: { get?: HttpGet; run?: FakeRunner }, patch?: (c: Config) => void) {
  const config = testConfig((c) => {
    c.health = { timeoutSec: 0.2, intervalSec: 0.001, successes: 2 };
    patch?.(c);
  });
  return fakeContext(config, { get: parts.get, run: parts.run ?? fakeRunner() });
}

/** systemctl show / journalctl answers of a unit that is running, or that crashed. */
function systemd(state: "running" | "crashed"): FakeRunner {
  return fakeRunner((file, args) => {
    if (file === "journalctl") return { stdout: `journal of ${args[1]}\nTraceback: boom` };
    if (file === "systemctl" && args[0] === "show") {
      return state === "running"
        ? { stdout: "ActiveState=activating\nSubState=start\nNRestarts=0\nResult=success\nExecMainStatus=0" }
        : { stdout: "ActiveState=failed\nSubState=failed\nNRestarts=0\nResult=exit-code\nExecMainStatus=1" };
    }
    return {};
  });
}

describe("healthGate", () => {
  it("passes when every service answers 2xx enough times, giving each one's time", async () => {
    const get = fakeGet(() => ok());
    const ctx = ctxWith({ get, run: systemd("running") });
    const times = await healthGate(ctx, "green");
    expect(Object.keys(times).sort()).toEqual(["api", "web"]);
    expect(Object.values(times).every((ms) => ms >= 0)).toBe(true);
    expect(new Set(get.calls.map((c) => c.url))).toEqual(
      new Set(["http://127.0.0.1:8001/health", "http://127.0.0.1:8502/_stcore/health"]),
    );
    expect(get.calls).toHaveLength(4);
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
  it("passes when the color's ports are free, asking ss about each", async () => {
    const run = fakeRunner(() => ({ stdout: "" }));
    await checkPorts(ctxWith({ run }), "green");
    expect(commands(run)).toEqual(["ss -Htlnp sport = :8001", "ss -Htlnp sport = :8502"]);
  });

  it("fails as PORT_BUSY naming a stray process on a port", async () => {
    // A pid above pid_max: no such process, so it belongs to no unit of ours.
    const run = fakeRunner((_, args) =>
      args[1] === "sport = :8501"
        ? { stdout: 'LISTEN 0 128 127.0.0.1:8501 0.0.0.0:* users:(("python3",pid=99999999,fd=3))' }
        : { stdout: "" },
    );
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
