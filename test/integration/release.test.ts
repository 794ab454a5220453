// What `npm run release` builds, installed as a user would on servers without this checkout:
// the single executable on a server with no Node at all (install, deploy, the webhook listener, the
// timer, discard), and the npm tarball with `npm install -g` on a server with Node and no network.
import { createHmac } from "node:crypto";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeAgentConfig } from "../../scripts/lab/config.js";
import { createOrigin, pushVersion, type Origin } from "../../scripts/lab/origin.js";
import { AGENT_DIR, REPO_ROOT, TestServer } from "../../scripts/lab/server.js";

const RELEASE = path.join(REPO_ROOT, "release");
const EXECUTABLE = path.join(RELEASE, "rf-agent-linux-x64");
// A schedule that never fires during the test: it starts the timer's service itself.
const CONFIG = {
  trigger: { schedule: "*-01-01 04:00" },
  switch: { grace: 1, drain: 3, standby: 0, watch: 2 },
  nginx: { preview_listen: "127.0.0.1:8081" },
};

let tarball = "";
let commit = "";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function sh(server: TestServer, script: string): Promise<string> {
  const r = await server.sh(script);
  expect(r.exitCode, `${script}\n${r.stderr}`).toBe(0);
  return r.stdout.trim();
}

async function served(server: TestServer, port = 80): Promise<{ version: string; color: string }> {
  const r = await server.curl(`http://127.0.0.1:${port}/api/version`);
  expect(r.status, r.body || r.error).toBe(200);
  return JSON.parse(r.body) as { version: string; color: string };
}

async function waitServed(server: TestServer, version: string, timeoutMs = 240_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while ((await served(server)).version !== version) {
    if (Date.now() > until) throw new Error(`${version} never went live`);
    await sleep(1000);
  }
}

/** The server's own rf-agent (whatever `rf-agent` is on its PATH), the checkout out of its reach. */
async function withoutCheckout(server: TestServer): Promise<void> {
  await sh(server, `rm -f /usr/local/bin/rf-agent && umount ${AGENT_DIR}`);
}

/** Runs the timer's deploy service as the timer would, and waits for it to finish. */
async function timerDeploy(server: TestServer): Promise<void> {
  await sh(server, "systemctl start rf-agent-demo-deploy@timer.service");
  const until = Date.now() + 240_000;
  while (
    (await server.exec("systemctl", ["is-active", "rf-agent-demo-deploy@timer.service"])).stdout.trim() !==
    "inactive"
  ) {
    if (Date.now() > until) throw new Error("the timer's deploy never finished");
    await sleep(1000);
  }
  expect(await sh(server, "systemctl show -p Result --value rf-agent-demo-deploy@timer.service")).toBe(
    "success",
  );
}

beforeAll(async () => {
  // From scratch, as a release is made; the test then uses only what it built.
  const built = await execa("node", ["scripts/release.mjs"], { cwd: REPO_ROOT, reject: false });
  expect(built.exitCode, built.stderr).toBe(0);
  const packed = (await execa("sh", ["-c", "ls rf-agent-*.tgz"], { cwd: RELEASE })).stdout.trim();
  tarball = path.join(RELEASE, packed);
  commit = (await execa("git", ["rev-parse", "HEAD"], { cwd: REPO_ROOT })).stdout.trim();
});

describe("the single executable, on a server with no Node", () => {
  let server: TestServer;
  let origin: Origin;

  beforeAll(async () => {
    server = await TestServer.up();
    origin = await createOrigin(server);
    await pushVersion(server, origin, "1.0.0");
    await writeAgentConfig(server, CONFIG);
    // Gone from the server only: its / is an overlay, these are whiteouts in its own upper layer.
    await sh(server, "rm -f /usr/bin/node /usr/bin/nodejs /usr/local/bin/node");
    await withoutCheckout(server);
    await sh(server, `install -m 0755 ${EXECUTABLE} /usr/local/bin/rf-agent`);
  });

  afterAll(async () => {
    await server?.down();
  });

  it("has no node to run, and says which commit it was built from", async () => {
    const node = await server.sh("command -v node nodejs; node --version");
    expect(node.exitCode).toBe(127);
    expect(node.stdout).toBe("");
    const r = await server.rfAgent(["--version"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^rf-agent \\d+\\.\\d+\\.\\d+\\S* \\(commit ${commit}(-dirty)?\\)$`));
  });

  it("deploys the example app, global options before the command", async () => {
    const r = await server.exec("rf-agent", ["--config", "/etc/rf-agent/agent.ini", "-v", "deploy"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain("deployed");
    expect((await served(server)).version).toBe("1.0.0");
  });

  it("installs the timer and the listener, which run the executable itself", async () => {
    const r = await server.rfAgent(["install"]);
    expect(r.exitCode, r.stderr).toBe(0);
    const exec = await sh(
      server,
      "systemctl show -p ExecStart --value rf-agent-demo-deploy@timer.service rf-agent-demo-webhook.service",
    );
    expect(exec).toContain("path=/usr/local/bin/rf-agent ; argv[]=/usr/local/bin/rf-agent deploy --config");
    expect(exec).toContain("argv[]=/usr/local/bin/rf-agent webhook --config");
    const health = await server.exec("curl", ["-sS", "http://127.0.0.1:9000/healthz"]);
    expect(health.stdout).toContain('"ok":true');
  });

  it("deploys a signed push through the webhook listener", async () => {
    const sha = await pushVersion(server, origin, "1.0.1");
    const secret = (await server.readFile("/etc/rf-agent/webhook.secret")).trim();
    const body = JSON.stringify({
      ref: "refs/heads/main",
      before: "0".repeat(39) + "1",
      after: sha,
      repository: { full_name: "demo/app" },
    });
    const signature = "sha256=" + createHmac("sha256", secret).update(body).digest("hex");
    const r = await server.exec(
      "curl",
      [
        ...["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "--data-binary", "@-"],
        ...["-H", "content-type: application/json", "-H", "x-github-event: push"],
        ...["-H", "x-github-delivery: release-test-1", "-H", `x-hub-signature-256: ${signature}`],
        "http://127.0.0.1:9000/hooks/demo",
      ],
      { input: body },
    );
    expect(r.stdout).toBe("202");
    await waitServed(server, "1.0.1");
  });

  it("deploys from the timer's service", async () => {
    await pushVersion(server, origin, "1.0.2");
    await timerDeploy(server);
    expect((await served(server)).version).toBe("1.0.2");
  });

  it("discards a staged release: stopped, the preview shows live, nothing staged, recorded", async () => {
    await pushVersion(server, origin, "1.0.3");
    const staged = await server.rfAgent(["deploy", "--no-switch"]);
    expect(staged.exitCode, staged.stderr).toBe(0);
    const live = await served(server);
    expect(await served(server, 8081)).toMatchObject({ version: "1.0.3" });
    const before = JSON.parse((await server.rfAgent(["status", "--json"])).stdout) as { staged: unknown };
    expect(before.staged).not.toBeNull();

    const r = await server.rfAgent(["cleanup"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain("discarded the staged release");
    // nginx takes the reload signal a moment after `systemctl kill` returns
    const until = Date.now() + 10_000;
    let preview = await server.curl("http://127.0.0.1:8081/api/version");
    while (preview.status !== 200 && Date.now() < until) {
      await sleep(200);
      preview = await server.curl("http://127.0.0.1:8081/api/version");
    }
    expect(preview.status, preview.body).toBe(200);
    expect(JSON.parse(preview.body)).toEqual(live);
    expect(await served(server)).toEqual(live);
    const idle = live.color === "blue" ? "green" : "blue";
    const units = await server.exec("systemctl", [
      "is-active",
      `demo-api@${idle}.service`,
      `demo-web@${idle}.service`,
    ]);
    expect(units.stdout.split("\n")).toEqual(["inactive", "inactive"]);
    const after = JSON.parse((await server.rfAgent(["status", "--json"])).stdout) as { staged: unknown };
    expect(after.staged).toBeNull();
    const text = await server.rfAgent(["status"]);
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout).not.toMatch(/^staged/m);
    const history = await server.rfAgent(["history", "--json", "-n", "1"]);
    expect(JSON.parse(history.stdout)).toMatchObject({
      command: "discard",
      outcome: "discarded",
      exitCode: 0,
    });

    const again = await server.rfAgent(["discard"]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toContain("nothing to discard");
  });
  it("keeps a warm standby whose expiry timer runs the executable, and discards it", async () => {
    await writeAgentConfig(server, { ...CONFIG, switch: { ...CONFIG.switch, standby: 600 } });
    const before = await served(server);
    await pushVersion(server, origin, "1.0.4");
    const r = await server.rfAgent(["deploy"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await served(server)).version).toBe("1.0.4");
    const expiry = await sh(
      server,
      "systemctl show -p ExecStart --value rf-agent-demo-standby-expiry.service",
    );
    expect(expiry).toContain("argv[]=/usr/local/bin/rf-agent reconcile --config /etc/rf-agent/agent.ini");
    const standby = JSON.parse((await server.rfAgent(["status", "--json"])).stdout) as {
      standby: { color: string } | null;
    };
    expect(standby.standby?.color).toBe(before.color);

    const d = await server.rfAgent(["discard"]);
    expect(d.exitCode, d.stderr).toBe(0);
    expect(d.stdout).toContain("discarded the warm standby");
    const units = await server.exec("systemctl", [
      "is-active",
      `demo-api@${before.color}.service`,
      `demo-web@${before.color}.service`,
      "rf-agent-demo-standby-expiry.timer",
    ]);
    expect(units.stdout.split("\n")).toEqual(["inactive", "inactive", "inactive"]);
    const after = JSON.parse((await server.rfAgent(["status", "--json"])).stdout) as { standby: unknown };
    expect(after.standby).toBeNull();
    expect((await served(server)).version).toBe("1.0.4");
  });
});

describe("the npm tarball, on a server with Node and no network", () => {
  let server: TestServer;
  let origin: Origin;

  beforeAll(async () => {
    server = await TestServer.up();
    origin = await createOrigin(server);
    await pushVersion(server, origin, "2.0.0");
    await writeAgentConfig(server, CONFIG);
    await withoutCheckout(server);
  });

  afterAll(async () => {
    await server?.down();
  });

  it("installs with npm install -g, fetching nothing", async () => {
    // --offline: anything npm would have to download fails instead of being fetched.
    const r = await server.exec("npm", ["install", "-g", "--offline", "--no-audit", "--no-fund", tarball]);
    expect(r.exitCode, r.stderr).toBe(0);
    const where = await sh(server, 'readlink -f "$(command -v rf-agent)"');
    expect(where).toMatch(/\/node_modules\/rf-agent\/dist\/cli\.js$/);
    const version = await server.rfAgent(["--version"]);
    expect(version.stdout).toContain(`(commit ${commit}`);
  });

  it("deploys, installs its units, and deploys from the timer", async () => {
    const r = await server.rfAgent(["deploy"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await served(server)).version).toBe("2.0.0");
    const install = await server.rfAgent(["install"]);
    expect(install.exitCode, install.stderr).toBe(0);
    const exec = await sh(server, "systemctl show -p ExecStart --value rf-agent-demo-deploy@timer.service");
    expect(exec).toMatch(/argv\[\]=\S*node \S*\/rf-agent deploy --config/);
    await pushVersion(server, origin, "2.0.1");
    await timerDeploy(server);
    expect((await served(server)).version).toBe("2.0.1");
  });
});
