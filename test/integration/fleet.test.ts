// Many servers: three app hosts behind HAProxy, rolled out by the rfagent.fleet Ansible collection
// over real SSH from the balancer, under HTTP load and Streamlit sessions through the balancer.
import { execa } from "execa";
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bootFleet,
  currentSessions,
  downFleet,
  playbook,
  servedVia,
  setHostVars,
  summaryTable,
  type Fleet,
  type PlaybookRun,
} from "../../scripts/lab/fleet.js";
import { startLoad, type Load, type LoadSummary } from "../../scripts/lab/load.js";
import { EXAMPLE_APP, pushVersion } from "../../scripts/lab/origin.js";
import { REPO_ROOT } from "../../scripts/lab/server.js";

const PREFIX = "fleet-t-";
const HOSTS = ["web1", "web2", "web3"];
let fleet: Fleet;

interface HostRun {
  host: string;
  outcome: string;
  changed?: boolean;
  from: { color: string; sha: string } | null;
  to: { color: string; sha: string } | null;
  startedAt?: string;
  ms: number | null;
  rollback?: { outcome: string; to: { sha: string } | null };
  error?: { code: string; message: string } | null;
}
interface DeploySummary {
  sha: string;
  stopped: boolean;
  stopped_in: string[];
  hosts: HostRun[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const originalMain = readFileSync(path.join(EXAMPLE_APP, "backend", "main.py"), "utf8");

function load(): Load {
  return startLoad(fleet.balancer, { rps: 20, sessions: 3, sessionMin: 2, sessionMax: 5 });
}

function expectClean(summary: LoadSummary): void {
  expect(summary.requests.failed, JSON.stringify(summary.failures.slice(0, 5))).toBe(0);
  expect(summary.sessions.dropped, JSON.stringify(summary.sessions.drops)).toBe(0);
  expect(summary.requests.ok).toBeGreaterThan(50);
  expect(summary.sessions.closedByClient).toBeGreaterThan(2);
}

function byHost(run: PlaybookRun): Record<string, HostRun> {
  const s = run.summary as DeploySummary;
  return Object.fromEntries(s.hosts.map((h) => [h.host, h]));
}

async function shas(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const h of HOSTS) {
    const served = await servedVia(fleet, h);
    expect(served.host).toBe(h);
    out[h] = served.sha;
  }
  return out;
}

const all = (sha: string) => Object.fromEntries(HOSTS.map((h) => [h, sha]));
const log = (line: string) => process.stdout.write(`[fleet] ${line}\n`);

let v1 = "";
let v2 = "";
/** What the whole fleet serves between the cases. */
let current = "";

beforeAll(async () => {
  await downFleet(undefined, PREFIX, HOSTS.length);
  // The single executable and the npm package the role installs from.
  await execa("node", [path.join(REPO_ROOT, "scripts", "release.mjs")], { cwd: REPO_ROOT });
  fleet = await bootFleet({
    prefix: PREFIX,
    hosts: HOSTS.length,
    // A warm standby makes a host's rollback one switch; short health and watch keep the file quick.
    config: { health: { timeout: 30 }, switch: { grace: 1, drain: 10, standby: 600, watch: 2 } },
  });
  const install = await playbook(fleet, "install");
  expect(install.exitCode, install.stdout.slice(-3000)).toBe(0);
  // The first two deploys build each host's two venvs (blue, then green): all hosts at once, so the
  // rollouts below are code-only, as most are.
  let first: PlaybookRun | undefined;
  for (const version of ["0.9.0", "1.0.0"]) {
    v1 = await pushVersion(fleet.balancer, fleet.origin, version);
    first = await playbook(fleet, "deploy", { rf_agent_serial: "100%" });
    expect(first.exitCode, first.stdout.slice(-3000)).toBe(0);
  }
  expect(await shas()).toEqual(all(v1));
  log(
    `lab up, 1.0.0 on ${HOSTS.length} hosts (second deploy, all at once: ${((first?.ms ?? 0) / 1000).toFixed(1)} s)`,
  );
});

afterAll(async () => {
  await downFleet(fleet, PREFIX, HOSTS.length);
});

describe("fleet: rolling deploys with Ansible behind HAProxy", () => {
  it("rolls a new commit out in batches [1, 50%, 100%]: the canary first, every host ends on it", async () => {
    v2 = await pushVersion(fleet.balancer, fleet.origin, "1.1.0");
    const traffic = load();
    await sleep(2000);
    const run = await playbook(fleet, "deploy");
    await sleep(1000);
    const summary = await traffic.stop();
    expect(run.exitCode, run.stdout.slice(-3000)).toBe(0);
    expect(await shas()).toEqual(all(v2));
    const hosts = byHost(run);
    expect(HOSTS.map((h) => hosts[h]?.outcome)).toEqual(["deployed", "deployed", "deployed"]);
    // One batch after another: each host's deploy started after the previous one ended.
    const span = (h: string) => {
      const r = hosts[h];
      const start = Date.parse(r?.startedAt ?? "");
      return [start, start + (r?.ms ?? 0)] as const;
    };
    expect(span("web2")[0]).toBeGreaterThanOrEqual(span("web1")[1]);
    expect(span("web3")[0]).toBeGreaterThanOrEqual(span("web2")[1]);
    expect(summary.versions["1.1.0/blue"] ?? 0).toBeGreaterThan(0);
    expectClean(summary);
    log(
      `rollout [1, 50%, 100%]: ${(run.ms / 1000).toFixed(1)} s, ${summary.requests.ok} requests ok, ` +
        `${summary.sessions.closedByClient} sessions closed cleanly, 0 failed, 0 dropped`,
    );
  });

  it("a second deploy run changes nothing (changed=0 on every host)", async () => {
    const run = await playbook(fleet, "deploy");
    expect(run.exitCode, run.stdout.slice(-3000)).toBe(0);
    for (const h of HOSTS) expect(run.recap[h]?.changed, h).toBe(0);
    expect(run.recap.localhost?.changed).toBe(0);
    expect(Object.values(byHost(run)).map((h) => h.outcome)).toEqual(["unchanged", "unchanged", "unchanged"]);
    expect(await shas()).toEqual(all(v2));
  });

  it("a commit failing its health check on the canary stops the rollout there; nothing else changes; a fleet rollback then goes to the previous version, the canary's too", async () => {
    const bad = await pushVersion(fleet.balancer, fleet.origin, "1.2.0", { fault: "never-healthy" });
    const traffic = load();
    const run = await playbook(fleet, "deploy");
    const summary = await traffic.stop();
    expect(run.exitCode).not.toBe(0);
    const hosts = byHost(run);
    expect(hosts.web1?.outcome).toBe("failed");
    expect(hosts.web1?.to?.sha).toBe(bad);
    expect(hosts.web1?.error?.code).toBe("HEALTH");
    expect(hosts.web2?.outcome).toBe("skipped");
    expect(hosts.web3?.outcome).toBe("skipped");
    expect((run.summary as DeploySummary).stopped_in).toEqual(["web1"]);
    expect(await shas()).toEqual(all(v2));
    expectClean(summary);

    // web1's other color now holds the failed release: its way back is a deploy of 1.0.0
    // (`rollback --to`); web2's and web3's is their warm standby.
    const traffic2 = load();
    await sleep(1000);
    const back = await playbook(fleet, "rollback");
    const summary2 = await traffic2.stop();
    expect(back.exitCode, back.stdout.slice(-3000)).toBe(0);
    const outcomes = byHost(back);
    expect(outcomes.web1?.outcome).toBe("deployed");
    expect(outcomes.web2?.outcome).toBe("rolled-back");
    expect(outcomes.web3?.outcome).toBe("rolled-back");
    expect(await shas()).toEqual(all(v1));
    expectClean(summary2);
    current = v1;
    log(`rollback after the failed canary:\n${summaryTable(back)}`);
  });

  it("a commit that breaks only the third host (its own setting) stops there and puts the two finished hosts back", async () => {
    // web3 still runs with a legacy setting that the new release refuses.
    await setHostVars(fleet, "web3", { rf_agent_host_env: { LEGACY_MODE: "1" } });
    const install = await playbook(fleet, "install");
    expect(install.exitCode, install.stdout.slice(-3000)).toBe(0);
    const refuses = originalMain.replace(
      "\nFAULT, FAULT_SECONDS =",
      '\nif os.environ.get("LEGACY_MODE"):\n    print("backend: LEGACY_MODE is no longer supported", file=sys.stderr, flush=True)\n    sys.exit(1)\n\nFAULT, FAULT_SECONDS =',
    );
    expect(refuses).not.toBe(originalMain);
    const v3 = await pushVersion(fleet.balancer, fleet.origin, "1.3.0", {
      fault: null,
      files: { "backend/main.py": refuses },
    });
    const traffic = load();
    const run = await playbook(fleet, "deploy");
    const summary = await traffic.stop();
    expect(run.exitCode).not.toBe(0);
    const hosts = byHost(run);
    for (const h of ["web1", "web2"]) {
      expect(hosts[h]?.outcome, h).toBe("deployed, rolled back");
      expect(hosts[h]?.to?.sha).toBe(v3);
      expect(hosts[h]?.rollback?.outcome).toBe("rolled-back");
      expect(hosts[h]?.rollback?.to?.sha).toBe(current);
    }
    expect(hosts.web3?.outcome).toBe("failed");
    expect((run.summary as DeploySummary).stopped_in).toEqual(["web3"]);
    log(`web3 refuses the release:\n${summaryTable(run)}`);
    expect(await shas()).toEqual(all(current));
    expectClean(summary);
  });

  let v4 = "";
  it("one host killed mid-rollout: the run reports it, the others end on one version, a rerun converges", async () => {
    v4 = await pushVersion(fleet.balancer, fleet.origin, "1.4.0", {
      files: { "backend/main.py": originalMain },
    });
    const web2 = fleet.hosts.get("web2");
    if (!web2) throw new Error("no web2");
    const traffic = load();
    const running = playbook(fleet, "deploy");
    // web2 is the second batch: kill it while its deploy runs.
    let deploying = false;
    for (let i = 0; i < 600 && !deploying; i++) {
      deploying = (await web2.exec("pgrep", ["-f", "rf-agent deploy"])).exitCode === 0;
      if (!deploying) await sleep(100);
    }
    expect(deploying).toBe(true);
    await sleep(1500);
    const before = (await currentSessions(fleet)).web2 ?? 0;
    await web2.stop();
    // What web2 held when it died: a session may open on it between a look and the kill, and HAProxy
    // still counts those connections just after it (a dead host answers nothing, not even a reset).
    const held = Math.max(before, (await currentSessions(fleet)).web2 ?? 0);
    const run = await running;
    await sleep(1000);
    const summary = await traffic.stop();
    expect(run.exitCode).not.toBe(0);
    const hosts = byHost(run);
    expect(["unreachable", "failed"]).toContain(hosts.web2?.outcome);
    expect(run.stdout).toMatch(/web2/);
    expect(hosts.web1?.outcome).toBe("deployed, rolled back");
    expect(hosts.web3?.outcome).toBe("skipped");
    const live = await shas().catch(() => null);
    expect(live).toBeNull(); // web2 does not answer
    expect((await servedVia(fleet, "web1")).sha).toBe(current);
    expect((await servedVia(fleet, "web3")).sha).toBe(current);
    // The balancer sent every request that had not reached web2 elsewhere; what web2 was answering when
    // it died is lost: at most one POST (never resent) and the websocket sessions it held.
    const lost = summary.failures.filter((f) => f.method !== "POST");
    expect(lost, JSON.stringify(summary.failures.slice(0, 5))).toEqual([]);
    expect(summary.requests.failed).toBeLessThanOrEqual(1);
    expect(summary.sessions.dropped).toBeLessThanOrEqual(held);
    log(
      `host killed: web2 reported ${hosts.web2?.outcome ?? "?"}; ${summary.requests.failed} failed of ${summary.requests.sent}, ` +
        `${summary.sessions.dropped} sessions dropped (web2 held ${held} connections when killed)`,
    );

    await web2.start();
    for (let i = 0; i < 100 && (await servedVia(fleet, "web2")).host !== "web2"; i++) await sleep(300);
    const traffic2 = load();
    const rerun = await playbook(fleet, "deploy");
    const summary2 = await traffic2.stop();
    expect(rerun.exitCode, rerun.stdout.slice(-3000)).toBe(0);
    expect(await shas()).toEqual(all(v4));
    expectClean(summary2);
  });

  it("status shows every host on one commit; rollback puts the previous one back everywhere", async () => {
    const status = await playbook(fleet, "status");
    expect(status.exitCode, status.stdout.slice(-3000)).toBe(0);
    const s = status.summary as {
      consistent: boolean;
      commits: string[];
      hosts: { host: string; live: { sha: string }; standby: { color: string } | null }[];
    };
    expect(s.consistent).toBe(true);
    expect(s.commits).toEqual([v4]);
    expect(status.stdout).toMatch(new RegExp(`fleet on one commit: ${v4.slice(0, 12)}`));
    for (const h of HOSTS) expect(status.recap[h]?.changed).toBe(0);

    const traffic = load();
    await sleep(1500);
    const back = await playbook(fleet, "rollback");
    await sleep(1000);
    const summary = await traffic.stop();
    expect(back.exitCode, back.stdout.slice(-3000)).toBe(0);
    expect(await shas()).toEqual(all(current));
    expect(Object.values(byHost(back)).map((h) => h.outcome)).toEqual([
      "rolled-back",
      "rolled-back",
      "rolled-back",
    ]);
    expectClean(summary);
    const after = (await playbook(fleet, "status")).summary as { consistent: boolean; commits: string[] };
    expect(after).toMatchObject({ consistent: true, commits: [current] });
  });

  it("maintenance takes one host at a time out of HAProxy's pool (drain, maint, ready) around a restart of its nginx", async () => {
    const traffic = load();
    await sleep(1500);
    const run = await playbook(fleet, "maintenance", {
      rf_agent_maintenance_command: "systemctl restart nginx",
      rf_agent_drain_timeout: 30,
    });
    await sleep(1000);
    const summary = await traffic.stop();
    expect(run.exitCode, run.stdout.slice(-3000)).toBe(0);
    for (const h of HOSTS) {
      expect(run.stdout).toMatch(new RegExp(`changed: \\[${h} -> lb`));
      expect(run.recap[h]?.failed).toBe(0);
    }
    const state = await fleet.balancer.exec("rf-haproxy-api", [
      "/run/haproxy/admin.sock",
      "show servers state app",
    ]);
    // srv_admin_state (7th field) 0: every host back in the pool, none left in drain or maint.
    const admin = state.stdout
      .split("\n")
      .filter((l) => /^\d+ app /.test(l))
      .map((l) => l.split(" ")[6]);
    expect(admin).toEqual(["0", "0", "0"]);
    expectClean(summary);
  });

  it("measures serial: 1 across three hosts against three single-host deploys back to back", async () => {
    await pushVersion(fleet.balancer, fleet.origin, "1.5.0");
    const serial = await playbook(fleet, "deploy", { rf_agent_serial: 1 });
    expect(serial.exitCode, serial.stdout.slice(-3000)).toBe(0);
    const agentMs = Object.values(byHost(serial)).reduce((sum, h) => sum + (h.ms ?? 0), 0);

    const v6 = await pushVersion(fleet.balancer, fleet.origin, "1.6.0");
    const started = performance.now();
    for (const h of HOSTS) {
      const r = await fleet.balancer.exec("ssh", [
        `root@${h === "web1" ? "10.77.0.11" : h === "web2" ? "10.77.0.12" : "10.77.0.13"}`,
        "rf-agent",
        "deploy",
        "--ref",
        v6,
      ]);
      expect(r.exitCode, r.stderr).toBe(0);
    }
    const singleMs = performance.now() - started;
    expect(await shas()).toEqual(all(v6));
    log(
      `serial: 1 over 3 hosts ${(serial.ms / 1000).toFixed(1)} s (rf-agent itself ${(agentMs / 1000).toFixed(1)} s); ` +
        `3 single-host deploys over ssh back to back ${(singleMs / 1000).toFixed(1)} s; ratio ${(serial.ms / singleMs).toFixed(2)}`,
    );
  });
});
