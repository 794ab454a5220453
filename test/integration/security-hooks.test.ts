// Release hooks as a hostile repository would write them, on a real host: each runs as the app user
// in a transient unit (systemd-run), so a background child cannot hold the deploy, a hook past its
// timeout is killed with everything it started, and it writes only the data dir.
//
// A hook whose main process exits 0 but leaves a child holding stdout succeeded: the deploy goes on,
// and systemd kills the child with the rest of the unit when the shell exits (KillMode=control-group).
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeAgentConfig } from "../../scripts/lab/config.js";
import { createOrigin, pushVersion, type Origin } from "../../scripts/lab/origin.js";
import { AGENT_CONFIG, TestServer } from "../../scripts/lab/server.js";
import { lastRun } from "../support/checks.js";

const ENV_FILE = "/etc/rf-agent/demo.env";
const SECRET = "hook-secret-0f9c2e51a7d64b38";
const DATA_DIR = "/var/lib/demo";
const TIMEOUT = 5;
// The hook compares a hash: the secret itself must not be on any command line, the hook's included.
const SECRET_HASH = createHash("sha256").update(SECRET).digest("hex");

let server: TestServer;
let origin: Origin;

async function served(): Promise<string> {
  const r = await server.curl("/api/version");
  expect(r.status, r.body || r.error).toBe(200);
  const b = JSON.parse(r.body) as { version: string; color: string };
  return `${b.version}/${b.color}`;
}

function useHook(preSwitch: string, timeout = 60): Promise<string> {
  return writeAgentConfig(server, { app: { env_file: ENV_FILE }, hooks: { pre_switch: preSwitch, timeout } });
}

/**
 * Command lines of processes matching an extended regex; write one character of a literal pattern
 * as a class ("sleep 61[3]") so the shell running pgrep does not match itself.
 */
async function processes(pattern: string): Promise<string[]> {
  const r = await server.exec("pgrep", ["-af", pattern]);
  return r.stdout.split("\n").filter(Boolean);
}

async function until(what: string, done: () => Promise<boolean>, tries = 240): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await done()) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`gave up waiting for ${what}`);
}

async function hookUnits(): Promise<string[]> {
  const r = await server.exec("systemctl", [
    "list-units",
    "--all",
    "--plain",
    "--no-legend",
    "rf-agent-*-hook-*",
  ]);
  expect(r.exitCode, r.stderr).toBe(0);
  return r.stdout.split("\n").filter(Boolean);
}

beforeAll(async () => {
  server = await TestServer.up();
  origin = await createOrigin(server);
  // rf-agent's git runs as the app user with GIT_CONFIG_NOSYSTEM=1, so the origin's system-wide
  // safe.directory entry no longer vouches for this root-owned repo: the app user owns it instead,
  // created here as rf-agent would create it (root still pushes through that entry).
  await server.sh(
    "id demo >/dev/null 2>&1 || useradd --system --user-group --home-dir /srv/demo --no-create-home --shell /usr/sbin/nologin demo\nchown -R demo:demo /srv/origin/app.git",
    { reject: true },
  );
  await server.writeFile(ENV_FILE, `SECRET_KEY=${SECRET}\n`, 0o600);
});

afterAll(async () => {
  await server?.down();
});

describe("release hooks in a sandbox", () => {
  it("deploys the first version, whose hook gets the env file, HOME and the data dir", async () => {
    await pushVersion(server, origin, "1.0.0");
    await writeAgentConfig(server, { app: { env_file: ENV_FILE } });
    const first = await server.rfAgent(["deploy"]);
    expect(first.exitCode, first.stderr).toBe(0);
    // The services' data dir (StateDirectory= makes it when they start); made here only when this
    // tree does not make it yet, so the hooks below have their one writable place.
    await server.sh(`test -d ${DATA_DIR} || install -d -o demo -g demo -m 0750 ${DATA_DIR}`, {
      reject: true,
    });

    await pushVersion(server, origin, "1.0.1");
    await useHook(
      `test "$(printf %s "$SECRET_KEY" | sha256sum | cut -d' ' -f1)" = ${SECRET_HASH} && test "$RF_DATA_DIR" = ${DATA_DIR} && test "$HOME" = ${DATA_DIR} && test "$(id -un)" = demo && command -v python | grep -q "^$VIRTUAL_ENV/bin/"`,
    );
    const r = await server.rfAgent(["deploy"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await served()).toBe("1.0.1/green");
    expect(await hookUnits()).toEqual([]);
  });

  it("a hook that exits 0 leaving a background child on its stdout: the deploy goes on, the child is killed", async () => {
    await pushVersion(server, origin, "1.0.2");
    // No ";" in these commands: in agent.ini it starts a comment.
    await useHook(`sh -c 'sleep 317 && : rf-bg-child' & echo "child $! started"`);
    const r = await server.rfAgent(["deploy"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await served()).toBe("1.0.2/blue");
    const hook = (await lastRun(server)).steps.find((s) => s.step === "pre_switch hook");
    // Held by the child, the step would have lasted until the 60 s timeout and failed.
    expect(hook?.ok).toBe(true);
    expect(await processes("rf-bg-chil[d]")).toEqual([]);
    expect(await processes("sleep 31[7]")).toEqual([]);
    expect(await hookUnits()).toEqual([]);
  });

  it("a hook past its timeout, ignoring SIGTERM: killed with its children, deploy exits 1, live untouched", async () => {
    await pushVersion(server, origin, "1.0.3");
    await useHook(`trap '' TERM && { sleep 613 & } && sleep 600 && : rf-slow-hook`, TIMEOUT);
    const deploy = server.spawn("rf-agent", ["deploy", "--config", "/etc/rf-agent/agent.ini"]);
    // While the hook runs, its systemd-run command line (readable by every user) names the env file,
    // never a value from it.
    let done = false;
    void deploy.finally(() => (done = true));
    let seen: string[] = [];
    for (let i = 0; i < 600 && seen.length === 0 && !done; i++) {
      seen = await processes("^systemd-run .*rf-agent-demo-hoo[k]");
      if (seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(seen).toHaveLength(1);
    expect(seen[0]).toContain(`EnvironmentFile=${ENV_FILE}`);
    expect(seen[0]).not.toContain(SECRET);
    const r = await deploy;
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stderr).toContain(`timed out after ${TIMEOUT} s`);
    expect(r.stderr).not.toContain(SECRET);
    expect(await served()).toBe("1.0.2/blue");
    const run = await lastRun(server);
    expect(run.outcome).toBe("failed");
    const hook = run.steps.find((s) => s.step === "pre_switch hook");
    expect(hook?.ok).toBe(false);
    // A correctness bound, not a speed target: the hook's own sleeps would have held it for 600 s.
    expect(hook?.ms).toBeLessThan((TIMEOUT + 15) * 1000);
    expect(await processes("rf-slow-hoo[k]")).toEqual([]);
    expect(await processes("sleep 6(00|13)$")).toEqual([]);
    expect(await hookUnits()).toEqual([]);
  });

  it("a hook cannot write its checkout", async () => {
    await useHook(`touch "$PWD/rf-hook-wrote-checkout"`);
    const r = await server.rfAgent(["deploy"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(
      /the pre_switch hook `touch "\$PWD\/rf-hook-wrote-checkout"` exited with status 1/,
    );
    expect(r.stderr).toContain("Read-only file system");
    expect((await server.exec("test", ["-e", "/srv/demo/green/rf-hook-wrote-checkout"])).exitCode).toBe(1);
    expect(await served()).toBe("1.0.2/blue");
  });

  it("a hook cannot write its venv", async () => {
    await useHook(`touch "$VIRTUAL_ENV/bin/rf-hook-wrote-venv"`);
    const r = await server.rfAgent(["deploy"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/exited with status 1/);
    expect(r.stderr).toContain("Read-only file system");
    expect((await server.exec("test", ["-e", "/srv/demo/venvs/green/bin/rf-hook-wrote-venv"])).exitCode).toBe(
      1,
    );
    expect(await served()).toBe("1.0.2/blue");
  });

  it("a hook writes the data dir, and the release goes live", async () => {
    await useHook(`touch "$RF_DATA_DIR/rf-hook-wrote-data"`);
    const r = await server.rfAgent(["deploy"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await served()).toBe("1.0.3/green");
    const owner = await server.exec("stat", ["-c", "%U", `${DATA_DIR}/rf-hook-wrote-data`]);
    expect(owner.stdout).toBe("demo");
    expect(await hookUnits()).toEqual([]);
  });

  it("run from a unit of its own, as the deploy service runs it: the hook is bound to that unit", async () => {
    await pushVersion(server, origin, "1.0.4");
    await useHook(`test -e "$RF_DATA_DIR/rf-bound-ok" || sleep 600 && : rf-bound-hook`);
    // A oneshot like rf-agent-NAME-deploy@.service; stopping it (systemctl stop, its start timeout)
    // kills rf-agent, and BindsTo= takes the hook down with it instead of leaving it to its timeout.
    const caller = ["-p", "Type=oneshot", "rf-agent", "deploy", "--config", AGENT_CONFIG];
    await server.exec("systemd-run", ["--unit=rf-test-caller", "--no-block", ...caller], { reject: true });
    await until("the hook's unit", async () => (await hookUnits()).length === 1);
    const unit = (await hookUnits())[0]?.split(" ")[0] ?? "";
    const binds = await server.exec("systemctl", ["show", "-P", "BindsTo", unit]);
    expect(binds.stdout).toBe("rf-test-caller.service");
    await server.exec("systemctl", ["stop", "rf-test-caller.service"], { reject: true });
    // Polled, well inside the hook's 60 s timeout: unbound, it would run until then.
    await until("the hook to be stopped", async () => (await hookUnits()).length === 0, 20);
    expect(await processes("rf-bound-hoo[k]")).toEqual([]);
    expect(await served()).toBe("1.0.3/green");

    // The same from a unit, with a hook that finishes: binding to a oneshot still starting is no deadlock.
    await server.exec("install", ["-o", "demo", "-g", "demo", "/dev/null", `${DATA_DIR}/rf-bound-ok`], {
      reject: true,
    });
    const r = await server.exec("systemd-run", ["--unit=rf-test-caller-2", "--wait", "--quiet", ...caller]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await served()).toBe("1.0.4/blue");
    expect(await hookUnits()).toEqual([]);
  });
});
