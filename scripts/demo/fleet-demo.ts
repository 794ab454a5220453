// The fleet demo scripts/fleet-demo.sh runs: three app hosts and an HAProxy balancer on a private
// bridge (disposable servers), the rfagent.fleet Ansible collection run over SSH from the balancer.
// Under load through the balancer: install, a first deploy, a rollout in batches [1, 50%, 100%], a
// release that fails its health check on the canary (stopped there), status, and a fleet rollback.
// Exit 0 only when every step did what it should with no failed request and no dropped session.
import {
  bootFleet,
  downFleet,
  playbook,
  summaryTable as table,
  type Fleet,
  type PlaybookRun,
} from "../lab/fleet.js";
import { startLoad, type LoadSummary } from "../lab/load.js";
import { pushVersion } from "../lab/origin.js";

const PREFIX = process.env.RF_FLEET_DEMO_PREFIX || "fleet-demo-";
const HOSTS = 3;
let fleet: Fleet | undefined;
let failed = false;

const say = (line: string) => process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const indent = (text: string) => text.replace(/^/gm, "    ");

function traffic(summary: LoadSummary): string {
  const clean = summary.requests.failed === 0 && summary.sessions.dropped === 0;
  if (!clean) failed = true;
  return (
    `traffic through HAProxy: ${summary.requests.ok} requests ok, ${summary.requests.failed} failed; ` +
    `${summary.sessions.opened} Streamlit sessions, ${summary.sessions.dropped} dropped${clean ? "" : "  <-- NOT CLEAN"}`
  );
}

function expect(ok: boolean, what: string): void {
  say(`${ok ? "✓" : "✗"} ${what}`);
  if (!ok) failed = true;
}

async function underLoad(name: string, extra: Record<string, unknown> = {}): Promise<PlaybookRun> {
  if (!fleet) throw new Error("no fleet");
  const load = startLoad(fleet.balancer, { rps: 20, sessions: 3, sessionMin: 2, sessionMax: 5 });
  await new Promise((r) => setTimeout(r, 1500));
  say(
    `$ ansible-playbook rfagent.fleet.${name} ${Object.keys(extra).length ? `-e '${JSON.stringify(extra)}'` : ""}`,
  );
  const run = await playbook(fleet, name, extra);
  await new Promise((r) => setTimeout(r, 1000));
  const summary = await load.stop();
  process.stdout.write(indent(table(run)) + "\n");
  say(`  ${(run.ms / 1000).toFixed(1)} s; ${traffic(summary)}`);
  return run;
}

async function main(): Promise<void> {
  say(
    `booting the lab: ${PREFIX}lb (HAProxy, Ansible controller, git origin) and ${HOSTS} app hosts on a private bridge`,
  );
  await downFleet(undefined, PREFIX, HOSTS);
  fleet = await bootFleet({
    prefix: PREFIX,
    hosts: HOSTS,
    config: { health: { timeout: 30 }, switch: { grace: 1, drain: 10, standby: 600, watch: 2 } },
  });
  say(
    "$ ansible-playbook rfagent.fleet.install  (HAProxy on the balancer; rf-agent, agent.ini, doctor on each host)",
  );
  const install = await playbook(fleet, "install");
  expect(install.exitCode === 0, `installed in ${(install.ms / 1000).toFixed(1)} s`);
  await pushVersion(fleet.balancer, fleet.origin, "1.0.0");
  say(
    "$ ansible-playbook rfagent.fleet.deploy -e rf_agent_serial=100%  (first deploy: every host builds its venv)",
  );
  const first = await playbook(fleet, "deploy", { rf_agent_serial: "100%" });
  process.stdout.write(indent(table(first)) + "\n");
  expect(first.exitCode === 0, "1.0.0 live on every host");

  await pushVersion(fleet.balancer, fleet.origin, "1.1.0");
  say("pushed 1.1.0; rolling it out in batches [1, 50%, 100%] (canary first)");
  const rollout = await underLoad("deploy");
  expect(rollout.exitCode === 0, "1.1.0 on every host");

  await pushVersion(fleet.balancer, fleet.origin, "1.2.0", { fault: "never-healthy" });
  say("pushed 1.2.0, which never becomes healthy: the canary must stop the rollout");
  const bad = await underLoad("deploy");
  expect(
    bad.exitCode !== 0 && /web2\s+skipped/.test(table(bad)),
    "stopped at the canary; web2 and web3 untouched",
  );

  say("$ ansible-playbook rfagent.fleet.status");
  const status = await playbook(fleet, "status");
  process.stdout.write(indent(table(status)) + "\n");

  say("rolling the fleet back (no version named)");
  const back = await underLoad("rollback");
  expect(back.exitCode === 0, "every host back on 1.0.0");
}

main()
  .catch((e: unknown) => {
    failed = true;
    process.stderr.write(`fleet demo: ${e instanceof Error ? e.message : String(e)}\n`);
  })
  .finally(async () => {
    say("taking the lab down");
    await downFleet(fleet, PREFIX, HOSTS);
    say(
      failed
        ? "fleet demo FAILED (see above)"
        : "fleet demo done: every step as expected, no failed request, no dropped session",
    );
    process.exit(failed ? 1 : 0);
  });
