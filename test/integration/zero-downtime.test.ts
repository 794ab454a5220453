// Drain, warm standby, stray ports: the properties that keep open dashboards and requests alive.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeAgentConfig } from "../../scripts/lab/config.js";
import { startLoad } from "../../scripts/lab/load.js";
import { finishedSteps, logRecords } from "../../scripts/lab/log-records.js";
import { createOrigin, pushVersion, type Origin } from "../../scripts/lab/origin.js";
import { TestServer } from "../../scripts/lab/server.js";
import { lastRun } from "../support/checks.js";

let server: TestServer;
let origin: Origin;

async function served(): Promise<string> {
  const r = await server.curl("/api/version");
  expect(r.status, r.body).toBe(200);
  const body = JSON.parse(r.body) as { version: string; color: string };
  return `${body.version}/${body.color}`;
}

async function unitState(unit: string): Promise<string> {
  return (await server.exec("systemctl", ["is-active", unit])).stdout.trim();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  server = await TestServer.up();
  origin = await createOrigin(server);
  await pushVersion(server, origin, "1.0.0");
  await writeAgentConfig(server, { switch: { grace: 1, drain: 20, standby: 60, watch: 2 } });
  const r = await server.rfAgent(["deploy"]);
  expect(r.exitCode, r.stderr).toBe(0);
});

afterAll(async () => {
  await server?.down();
});

describe("zero downtime", () => {
  it("keeps long Streamlit sessions alive through a deploy: the old color drains before it stops", async () => {
    await pushVersion(server, origin, "1.0.1");
    // sessions of 4-7 s: several are open on the old color when nginx switches
    const load = startLoad(server, { rps: 20, sessions: 4, sessionMin: 4, sessionMax: 7 });
    await sleep(3000);
    const r = await server.rfAgent(["deploy"]);
    await sleep(500);
    const summary = await load.stop();
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await served()).toBe("1.0.1/green");
    expect(summary.requests.failed, JSON.stringify(summary.failures.slice(0, 5))).toBe(0);
    expect(summary.sessions.dropped, JSON.stringify(summary.sessions.drops)).toBe(0);
    expect(summary.sessions.closedByClient).toBeGreaterThan(4);
    // the old color's drain ended with no connection left open (retire logs how many were)
    const records = logRecords(r.stderr);
    expect(finishedSteps(records)).toContain("drain + stop old");
    expect(records.filter((l) => typeof l.open === "number" && l.open > 0)).toEqual([]);
  });

  it("keeps the previous color as a warm standby and rolls back to it without a start or health wait", async () => {
    const status = JSON.parse((await server.rfAgent(["status", "--json"])).stdout) as {
      standby: { color: string; secondsLeft: number } | null;
    };
    expect(status.standby?.color).toBe("blue");
    expect(status.standby?.secondsLeft).toBeGreaterThan(0);
    expect(await unitState("demo-api@blue.service")).toBe("active");
    expect(await unitState("demo-web@blue.service")).toBe("active");
    // blue is not serving
    expect(await served()).toBe("1.0.1/green");

    const load = startLoad(server, { rps: 25, sessions: 3, sessionMin: 1, sessionMax: 3 });
    await sleep(1500);
    const r = await server.rfAgent(["rollback"]);
    await sleep(500);
    const summary = await load.stop();
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await served()).toBe("1.0.0/blue");
    const steps = (await lastRun(server)).steps.map((s) => s.step);
    expect(steps).not.toContain("start");
    expect(steps).not.toContain("health");
    expect(steps).toContain("switch nginx");
    expect(summary.requests.failed, JSON.stringify(summary.failures.slice(0, 5))).toBe(0);
    expect(summary.sessions.dropped, JSON.stringify(summary.sessions.drops)).toBe(0);
  });

  it("stops an expired standby on its own (transient timer)", async () => {
    await writeAgentConfig(server, { switch: { grace: 1, drain: 5, standby: 2, watch: 1 } });
    await pushVersion(server, origin, "1.0.2");
    const r = await server.rfAgent(["deploy"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await served()).toBe("1.0.2/green");
    // The expiry stops the units, then clears the standby from the state: wait for all of it.
    const standbyNow = async () =>
      (JSON.parse((await server.rfAgent(["status", "--json"])).stdout) as { standby: unknown }).standby;
    let api = "active";
    let web = "active";
    let standby: unknown = "running";
    for (let i = 0; i < 40 && (api !== "inactive" || web !== "inactive" || standby !== null); i++) {
      await sleep(500);
      api = await unitState("demo-api@blue.service");
      web = await unitState("demo-web@blue.service");
      standby = await standbyNow();
    }
    expect(api).toBe("inactive");
    expect(web).toBe("inactive");
    expect(standby).toBeNull();
    expect(await served()).toBe("1.0.2/green");
  });

  it("refuses to start a color whose port a stray process holds (exit 1, live untouched)", async () => {
    const stray = server.spawn("/usr/bin/python3", ["-m", "http.server", "--bind", "127.0.0.1", "8000"]);
    try {
      for (let i = 0; i < 50; i++) {
        if ((await server.sh("ss -Htln 'sport = :8000'")).stdout.trim()) break;
        await sleep(100);
      }
      await pushVersion(server, origin, "1.0.3");
      const r = await server.rfAgent(["deploy"]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/port 8000 of api \(blue\) is held by pid \d+: .*http\.server/);
      expect(r.stderr).toMatch(/fix: stop that process \(kill \d+\), or give \[service.api\] other ports/);
      expect(await served()).toBe("1.0.2/green");
    } finally {
      stray.kill("SIGTERM");
      await stray.catch(() => undefined);
    }
    const again = await server.rfAgent(["deploy"]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(await served()).toBe("1.0.3/blue");
  });
});
