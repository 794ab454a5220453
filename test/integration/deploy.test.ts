// The core deploy on a real host: systemd, nginx, git, pip, uvicorn and Streamlit, checked through nginx.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLoad, type LoadSummary } from "../../scripts/lab/load.js";
import { finishedSteps, logRecords } from "../../scripts/lab/log-records.js";
import { createOrigin, pushVersion, type Origin } from "../../scripts/lab/origin.js";
import { writeAgentConfig } from "../../scripts/lab/config.js";
import { TestServer } from "../../scripts/lab/server.js";
import { served as servedBy, statusOf } from "../support/checks.js";

let server: TestServer;
let origin: Origin;
let v1: string;

const served = () => servedBy(server);
const status = () => statusOf(server);

function expectNoLoss(load: LoadSummary): void {
  expect(load.requests.sent).toBeGreaterThan(50);
  expect(load.requests.failed, JSON.stringify(load.failures.slice(0, 5))).toBe(0);
  expect(load.sessions.opened).toBeGreaterThan(0);
  expect(load.sessions.dropped, JSON.stringify(load.sessions.drops)).toBe(0);
  expect(load.sessions.openFailed).toBe(0);
}

beforeAll(async () => {
  server = await TestServer.up();
  origin = await createOrigin(server);
  v1 = await pushVersion(server, origin, "1.0.0");
});

afterAll(async () => {
  await server?.down();
});

describe("rf-agent on a real host", () => {
  it("refuses a bad config with exit 2 and a message naming the key, touching nothing", async () => {
    await writeAgentConfig(server, { app: { root: "relative/path" }, health: { timout: 5 } });
    const r = await server.rfAgent(["deploy"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("[app] root");
    expect(r.stderr).toContain('did you mean "timeout"');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const touched = await server.sh(
      "ls /srv/demo /etc/systemd/system/demo-api@.service /var/lib/rf-agent/demo 2>&1",
    );
    expect(touched.stdout).toMatch(/No such file or directory/);
    expect(touched.stdout).not.toMatch(/blue|green/);
    // nginx still serves Debian's default page
    expect((await server.curl("/")).body).toContain("Welcome to nginx");
  });

  it("first deploy on a bare host sets everything up and serves through nginx", async () => {
    await writeAgentConfig(server);
    const r = await server.rfAgent(["deploy"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await served()).toEqual({ version: "1.0.0", color: "blue" });
    const page = await server.curl("/");
    expect(page.status).toBe(200);
    expect(page.body.toLowerCase()).toContain("streamlit");
    const s = await status();
    expect(s.live).toEqual({ color: "blue", sha: v1, since: expect.any(String) });
    expect(s.slots.blue?.services.api?.healthy).toBe(true);
    expect(s.slots.blue?.services.web?.healthy).toBe(true);
    // the app runs as its own user; ROOT and ROOT/venvs are root's (the app user cannot swap what
    // root walks), everything in the checkouts and venvs is the app user's (git/pip left no root file)
    const user = await server.sh("ps -o user= -p $(systemctl show -p MainPID --value demo-api@blue.service)");
    expect(user.stdout.trim()).toBe("demo");
    const rootOwned = await server.sh("find /srv/demo -user root | head -5");
    expect(rootOwned.stdout.trim().split("\n")).toEqual(["/srv/demo", "/srv/demo/venvs"]);
    const owners = await server.sh(
      "stat -c '%U %a %n' /srv/demo /srv/demo/venvs /srv/demo/blue /var/lib/demo",
    );
    expect(owners.stdout.trim().split("\n")).toEqual([
      "root 755 /srv/demo",
      "root 755 /srv/demo/venvs",
      "demo 750 /srv/demo/blue",
      "demo 750 /var/lib/demo",
    ]);
    // state is private to root
    const mode = await server.sh("stat -c %a /var/lib/rf-agent/demo /var/lib/rf-agent/demo/state.json");
    expect(mode.stdout.trim().split("\n")).toEqual(["700", "600"]);
    // Debian's default site was disabled, with a log line saying so
    expect(r.stderr).toContain("disabled nginx's default site");
  });

  it("is a no-op when the branch tip is already live", async () => {
    const r = await server.rfAgent(["deploy"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain("already live");
    expect(await served()).toEqual({ version: "1.0.0", color: "blue" });
    expect((await status()).slots.green?.sha).toBeNull();
  });

  it("deploys a new commit to the idle color with no failed request or dropped session", async () => {
    const v2 = await pushVersion(server, origin, "1.0.1");
    const load = startLoad(server, { rps: 25, sessions: 3, sessionMin: 1, sessionMax: 3 });
    await new Promise((r) => setTimeout(r, 2000));
    const r = await server.rfAgent(["deploy"]);
    await new Promise((r) => setTimeout(r, 1000));
    const summary = await load.stop();
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await served()).toEqual({ version: "1.0.1", color: "green" });
    expectNoLoss(summary);
    expect(Object.keys(summary.versions)).toEqual(expect.arrayContaining(["1.0.0/blue", "1.0.1/green"]));
    const s = await status();
    expect(s.live?.sha).toBe(v2);
    expect(s.slots.blue?.services.api?.state).toMatch(/^inactive/);
    // green had no venv yet: this deploy made one, and pip ran in it
    const records = logRecords(r.stderr);
    expect(finishedSteps(records)).toContain("pip install");
    expect(records.some((x) => x.venv === "create")).toBe(true);
  });

  it("rolls back to the previous version with no failed request", async () => {
    const load = startLoad(server, { rps: 25, sessions: 3, sessionMin: 1, sessionMax: 3 });
    await new Promise((r) => setTimeout(r, 1500));
    const r = await server.rfAgent(["rollback"]);
    await new Promise((r) => setTimeout(r, 1000));
    const summary = await load.stop();
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await served()).toEqual({ version: "1.0.0", color: "blue" });
    expectNoLoss(summary);
    expect((await status()).live?.sha).toBe(v1);
  });

  it("never puts a release that does not become healthy live (exit 1, live untouched)", async () => {
    const before = await status();
    await pushVersion(server, origin, "1.0.2-broken", { fault: "never-healthy" });
    await writeAgentConfig(server, { health: { timeout: 8 } });
    const r = await server.rfAgent(["deploy"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/never became healthy/);
    expect(r.stderr).toContain("fix:");
    expect(await served()).toEqual({ version: "1.0.0", color: "blue" });
    const after = await status();
    expect(after.live).toEqual(before.live);
    // nothing half-started is left running
    expect(after.slots.green?.services.api?.state).toMatch(/^inactive|^failed/);
  });

  it("fails fast with the unit's journal when a release exits at start", async () => {
    await pushVersion(server, origin, "1.0.3-crash", { fault: "exit-at-start" });
    await writeAgentConfig(server);
    const r = await server.rfAgent(["deploy"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/exited at start/);
    expect(r.stderr).toMatch(/journalctl -u demo-api@green.service/);
    expect(await served()).toEqual({ version: "1.0.0", color: "blue" });
  });

  it("refuses a second concurrent deploy with exit 4 naming the holder", async () => {
    await pushVersion(server, origin, "1.0.4", { fault: null });
    const first = server.spawn("rf-agent", ["deploy", "--config", "/etc/rf-agent/agent.ini"]);
    let held = false;
    for (let i = 0; i < 100 && !held; i++) {
      held = (await status()).lock !== null;
      if (!held) await new Promise((r) => setTimeout(r, 100));
    }
    expect(held).toBe(true);
    const second = await server.rfAgent(["deploy"]);
    expect(second.exitCode).toBe(4);
    expect(second.stderr).toMatch(/another rf-agent run holds the lock: pid \d+ \(rf-agent deploy\)/);
    const done = await first;
    expect(done.exitCode, String(done.stderr)).toBe(0);
    // green's venv already has these requirements: no pip step, the rest of the deploy as usual
    const steps = finishedSteps(logRecords(String(done.stderr)));
    expect(steps).toEqual(expect.arrayContaining(["fetch", "health", "switch nginx"]));
    expect(steps.filter((s) => s.includes("pip"))).toEqual([]);
    expect(await served()).toEqual({ version: "1.0.4", color: "green" });
    expect((await status()).lock).toBeNull();
  });

  it("switches back automatically when the new color fails right after the switch (exit 3)", async () => {
    await pushVersion(server, origin, "1.0.5-flaky", { fault: "unhealthy-after 6" });
    await writeAgentConfig(server, { switch: { watch: 10 } });
    const load = startLoad(server, { rps: 20, sessions: 2, sessionMin: 1, sessionMax: 3 });
    const r = await server.rfAgent(["deploy"]);
    await new Promise((r) => setTimeout(r, 500));
    const summary = await load.stop();
    expect(r.exitCode, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/switched back to the green color/);
    expect(await served()).toEqual({ version: "1.0.4", color: "green" });
    // requests through nginx never failed: the health watch caught it before users' /api/ calls did
    expect(summary.requests.failed, JSON.stringify(summary.failures.slice(0, 5))).toBe(0);
    const history = await server.rfAgent(["history", "--json", "-n", "1"]);
    expect(JSON.parse(history.stdout).outcome).toBe("rolled-back");
  });

  it("loses no request but the POST the crash cut when a release dies after the switch: nginx falls back to the old color while the watch switches back", async () => {
    await pushVersion(server, origin, "1.0.5-dies", { fault: "exit-after 8" });
    await writeAgentConfig(server, { switch: { watch: 20 } });
    const load = startLoad(server, { rps: 40, sessions: 2, sessionMin: 1, sessionMax: 3 });
    const r = await server.rfAgent(["deploy"]);
    await new Promise((r) => setTimeout(r, 500));
    const summary = await load.stop();
    expect(r.exitCode, r.stderr).toBe(3);
    expect(await served()).toEqual({ version: "1.0.4", color: "green" });
    // A crash cuts what the process was answering at that instant, and nginx rightly never resends
    // a POST that reached it (the app may have acted on it). Everything else, and every request
    // after the crash, reaches the old color: without the fallback, thousands failed over ~1.2 s.
    const failures = JSON.stringify(summary.failures.slice(0, 5));
    const cut = summary.failures.filter((f) => f.method === "POST" && f.status === 502);
    expect(summary.requests.failed - cut.length, failures).toBe(0);
    expect(cut.length, failures).toBeLessThanOrEqual(2);
    if (cut.length === 2) expect(Math.abs(cut[0]!.t - cut[1]!.t), failures).toBeLessThan(250);
    expect(summary.requests.ok).toBeGreaterThan(100);
    // the new color really died while it served (the journal of its API unit says so)
    const died = await server.sh(
      "journalctl -u demo-api@blue.service -o cat --no-pager | grep -c 'FAULT exit-after'",
    );
    expect(Number(died.stdout.trim())).toBeGreaterThan(0);
    // after the switch back nginx no longer falls back to the failed color
    expect(await server.readFile("/etc/nginx/rf-agent/demo/live.conf")).toContain("set $rf_live_pool green;");
  });

  it("prints the plan and diffs with --dry-run and changes nothing", async () => {
    await pushVersion(server, origin, "1.0.6", { fault: null });
    await writeAgentConfig(server);
    const before = await server.sh(
      "cat /etc/nginx/rf-agent/demo/live.conf; ls -l --time-style=+%s /etc/systemd/system/demo-api@.service",
    );
    const r = await server.rfAgent(["deploy", "--dry-run"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/dry run: deploy [0-9a-f]{12} to blue/);
    expect(r.stdout).toMatch(/switch nginx\s+green -> blue/);
    expect(r.stdout).toContain("+set $rf_live_color blue;");
    const after = await server.sh(
      "cat /etc/nginx/rf-agent/demo/live.conf; ls -l --time-style=+%s /etc/systemd/system/demo-api@.service",
    );
    expect(after.stdout).toBe(before.stdout);
    expect(await served()).toEqual({ version: "1.0.4", color: "green" });
  });
});
