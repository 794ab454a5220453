// A production host's life: reboots (after a deploy, a rollback, during a warm standby), a database on
// another host, and the operator's own unit settings, on a real systemd + nginx server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeAgentConfig, type ConfigOverrides } from "../../scripts/lab/config.js";
import { startLoad, type Load } from "../../scripts/lab/load.js";
import { createOrigin, pushVersion, type Origin } from "../../scripts/lab/origin.js";
import { TestServer } from "../../scripts/lab/server.js";

let server: TestServer;
let origin: Origin;

type Color = "blue" | "green";
const unitsOf = (color: Color) => [`demo-api@${color}.service`, `demo-web@${color}.service`];
const other = (color: Color): Color => (color === "blue" ? "green" : "blue");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const SWITCH = { grace: 1, drain: 5, standby: 0, watch: 2 };

async function served(): Promise<string> {
  const r = await server.curl("/api/version");
  expect(r.status, r.body || r.error).toBe(200);
  const body = JSON.parse(r.body) as { version: string; color: string };
  return `${body.version}/${body.color}`;
}

async function run(args: string[]): Promise<void> {
  const r = await server.rfAgent(args, { timeoutMs: 300_000 });
  expect(r.exitCode, `rf-agent ${args.join(" ")}\n${r.stderr}`).toBe(0);
}

/** Runs a deploy or rollback under a small load through nginx; no request may fail. */
async function underLoad(args: string[]): Promise<void> {
  const load: Load = startLoad(server, { rps: 15, sessions: 2, sessionMin: 1, sessionMax: 3 });
  try {
    await sleep(1000);
    await run(args);
    await sleep(500);
  } finally {
    const summary = await load.stop();
    expect(summary.requests.failed, JSON.stringify(summary.failures.slice(0, 5))).toBe(0);
    expect(summary.sessions.dropped, JSON.stringify(summary.sessions.drops)).toBe(0);
  }
}

/** After a boot, polls through nginx (nobody runs anything) until the API and the dashboard answer. */
async function servedAfterBoot(boundMs = 150_000): Promise<string> {
  const deadline = Date.now() + boundMs;
  let last = "";
  while (Date.now() < deadline) {
    const [api, web] = await Promise.all([
      server.curl("/api/version", { timeoutMs: 3000 }),
      server.curl("/", { timeoutMs: 3000 }),
    ]);
    last = `api ${api.status} ${api.error ?? ""}, web ${web.status} ${web.error ?? ""}`;
    if (api.status === 200 && web.status === 200) return served();
    await sleep(1000);
  }
  throw new Error(`nothing served ${boundMs} ms after the boot: ${last}`);
}

async function activeState(unit: string): Promise<string> {
  return (await server.exec("systemctl", ["is-active", unit])).stdout.trim();
}

async function enabledState(unit: string): Promise<string> {
  return (await server.exec("systemctl", ["is-enabled", unit])).stdout.trim();
}

/** Only the live color runs, and only it (and nginx) starts at boot. */
async function expectOnlyLive(live: Color): Promise<void> {
  for (const unit of unitsOf(live)) {
    expect(await activeState(unit), unit).toBe("active");
    expect(await enabledState(unit), unit).toBe("enabled");
  }
  for (const unit of unitsOf(other(live))) {
    expect(await activeState(unit), unit).toBe("inactive");
    expect(await enabledState(unit), unit).toBe("disabled");
  }
  expect(await enabledState("nginx.service")).toBe("enabled");
  const running = await server.sh(
    "systemctl list-units 'demo-*' --state=active --plain --no-legend | cut -d' ' -f1",
  );
  expect(running.stdout.split("\n").filter(Boolean).sort()).toEqual(unitsOf(live));
}

async function statusJson(): Promise<{ standby: unknown; live: { color: string } | null }> {
  const r = await server.rfAgent(["status", "--json"]);
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { standby: unknown; live: { color: string } | null };
}

async function config(overrides: ConfigOverrides = {}): Promise<void> {
  await writeAgentConfig(server, { switch: SWITCH, ...overrides });
}

beforeAll(async () => {
  server = await TestServer.up();
  origin = await createOrigin(server);
  await pushVersion(server, origin, "1.0.0");
  await config();
  await run(["deploy"]);
  expect(await served()).toBe("1.0.0/blue");
}, 600_000);

afterAll(async () => {
  await server?.down();
});

describe("after a reboot", () => {
  it("the test server keeps its disk and starts /run afresh", async () => {
    await server.writeFile("/etc/rf-reboot-marker", "kept\n");
    await server.writeFile("/run/rf-reboot-marker", "gone\n");
    const before = server.pid;
    await server.reboot();
    expect(server.pid).not.toBe(before);
    expect(await server.readFile("/etc/rf-reboot-marker")).toBe("kept\n");
    expect((await server.exec("test", ["-e", "/run/rf-reboot-marker"])).exitCode).toBe(1);
    expect(await servedAfterBoot()).toBe("1.0.0/blue");
  });

  it("serves the version a deploy put live, with only its color running", async () => {
    await pushVersion(server, origin, "1.0.1");
    await underLoad(["deploy"]);
    expect(await served()).toBe("1.0.1/green");
    await expectOnlyLive("green");
    await server.reboot();
    expect(await servedAfterBoot()).toBe("1.0.1/green");
    await expectOnlyLive("green");
  });

  it("serves the version a rollback put live, also after a power cut", async () => {
    await underLoad(["rollback"]);
    expect(await served()).toBe("1.0.0/blue");
    await expectOnlyLive("blue");
    await server.reboot({ hard: true });
    expect(await servedAfterBoot()).toBe("1.0.0/blue");
    await expectOnlyLive("blue");
  });

  it("does not bring back a warm standby: only the live color runs, and status shows no standby", async () => {
    await config({ switch: { ...SWITCH, standby: 600 } });
    await pushVersion(server, origin, "1.0.2");
    await underLoad(["deploy"]);
    expect(await served()).toBe("1.0.2/green");
    for (const unit of unitsOf("blue")) {
      expect(await activeState(unit), unit).toBe("active");
      expect(await enabledState(unit), unit).toBe("disabled");
    }
    expect((await statusJson()).standby).toMatchObject({ color: "blue" });

    await server.reboot();
    expect(await servedAfterBoot()).toBe("1.0.2/green");
    await expectOnlyLive("green");
    expect((await statusJson()).standby).toBeNull();
    // The next run forgets the standby for good and still starts nothing else.
    await run(["reconcile"]);
    const state = JSON.parse(await server.readFile("/var/lib/rf-agent/demo/state.json")) as {
      standby: unknown;
    };
    expect(state.standby).toBeNull();
    await expectOnlyLive("green");
    expect(await served()).toBe("1.0.2/green");
    await config();
  });
});

describe("network access", () => {
  const DB = "10.213.7.2";
  const PORT = 5432;
  // Connects to the db host from inside a unit: its cgroup (where systemd's IP firewall sits), its
  // mount and network namespaces, as the app user.
  const PROBE = `import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
    s.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")
    print("reached", s.recv(12).decode())
except OSError as e:
    print("blocked", e)`;

  async function probeFrom(unit: string): Promise<string> {
    const script = `set -euo pipefail
cg=$(systemctl show -p ControlGroup --value "$1")
pid=$(systemctl show -p MainPID --value "$1")
[ "$pid" -gt 0 ]
echo $$ >"/sys/fs/cgroup/unified$cg/cgroup.procs"
exec nsenter -t "$pid" -m -n -- setpriv --reuid demo --regid demo --clear-groups -- python3 -c "$2" "$3" "$4"`;
    const r = await server.exec("bash", ["-c", script, "probe", unit, PROBE, DB, String(PORT)], {
      timeoutMs: 20_000,
    });
    expect(r.exitCode, r.stderr).toBe(0);
    return r.stdout.trim();
  }

  /** The live color's api unit. */
  async function liveApi(): Promise<string> {
    return `demo-api@${(await served()).split("/")[1]}.service`;
  }

  beforeAll(async () => {
    // A second host in its own network namespace inside the server, on a private /30 of its own.
    await server.sh(
      `set -euo pipefail
ip netns add db
ip link add rfdb0 type veth peer name rfdb1
ip link set rfdb1 netns db
ip addr add 10.213.7.1/30 dev rfdb0
ip link set rfdb0 up
ip netns exec db ip addr add ${DB}/30 dev rfdb1
ip netns exec db ip link set rfdb1 up
ip netns exec db ip link set lo up
systemd-run --unit=test-db -q ip netns exec db python3 -m http.server --bind ${DB} ${PORT}`,
      { reject: true },
    );
    for (let i = 0; i < 50; i++) {
      if ((await server.exec("ip", ["netns", "exec", "db", "ss", "-Htln", `sport = :${PORT}`])).stdout.trim())
        break;
      await sleep(200);
    }
  });

  it("by default lets a service reach a database on another host", async () => {
    const api = await liveApi();
    expect(
      await server.sh(`grep -c '^IPAddress' /etc/systemd/system/demo-api@.service || true`),
    ).toMatchObject({
      stdout: "0",
    });
    expect(await probeFrom(api)).toBe("reached HTTP/1.0 200");
  });

  it("with network = localhost it cannot, though nginx still reaches it; a CIDR list opens just those", async () => {
    await config({ "service.api": { network: "localhost" } });
    await underLoad(["deploy", "--force"]);
    const api = await liveApi();
    expect(await probeFrom(api)).toMatch(/^blocked /);
    // the database is up: from outside the unit it answers
    const outside = await server.exec("python3", ["-c", PROBE, DB, String(PORT)]);
    expect(outside.stdout.trim()).toBe("reached HTTP/1.0 200");
    // the dashboard (network unset) still may
    expect(await probeFrom(api.replace("demo-api@", "demo-web@"))).toBe("reached HTTP/1.0 200");
    const doctor = await server.rfAgent(["doctor"]);
    expect(doctor.stdout).toContain("✓ what [service.api] may reach (localhost only)");
    expect(doctor.stdout).toContain("✓ what [service.web] may reach (any address)");

    await config({ "service.api": { network: `${DB}/32` } });
    await run(["deploy", "--force"]);
    const next = await liveApi();
    expect(next).not.toBe(api);
    expect(await probeFrom(next)).toBe("reached HTTP/1.0 200");
    await config();
  });
});

describe("your own settings", () => {
  const TEMPLATE_DROP_IN = "/etc/systemd/system/demo-api@.service.d/override.conf";
  const INSTANCE_DROP_IN = "/etc/systemd/system/demo-web@blue.service.d/override.conf";

  async function limitOf(unit: string): Promise<string> {
    return (await server.exec("systemctl", ["show", "-p", "LimitNOFILE", "--value", unit])).stdout.trim();
  }

  async function processLimit(unit: string): Promise<string> {
    const pid = (await server.exec("systemctl", ["show", "-p", "MainPID", "--value", unit])).stdout.trim();
    const limits = await server.readFile(`/proc/${pid}/limits`);
    return /^Max open files\s+(\d+)/m.exec(limits)?.[1] ?? "";
  }

  it("keeps the operator's drop-ins through three deploys and a rollback, and they take effect", async () => {
    // As `systemctl edit demo-api@.service` and `systemctl edit demo-web@blue.service` leave them.
    const template = "[Service]\nLimitNOFILE=12345\n";
    const instance = "[Service]\nEnvironment=OPERATOR_NOTE=kept\n";
    await server.writeFile(TEMPLATE_DROP_IN, template);
    await server.writeFile(INSTANCE_DROP_IN, instance);
    await server.exec("systemctl", ["daemon-reload"], { reject: true });

    for (const [i, version] of ["1.1.0", "1.1.1", "1.1.2"].entries()) {
      await pushVersion(server, origin, version);
      if (i === 0) await underLoad(["deploy"]);
      else await run(["deploy"]);
      const live = `demo-api@${(await served()).split("/")[1]}.service`;
      expect(await served()).toMatch(new RegExp(`^${version.replace(/\./g, "\\.")}/`));
      expect(await limitOf(live)).toBe("12345");
      expect(await processLimit(live)).toBe("12345");
    }
    await underLoad(["rollback"]);
    expect(await served()).toMatch(/^1\.1\.1\//);
    const live = `demo-api@${(await served()).split("/")[1]}.service`;
    expect(await processLimit(live)).toBe("12345");
    expect(await server.readFile(TEMPLATE_DROP_IN)).toBe(template);
    expect(await server.readFile(INSTANCE_DROP_IN)).toBe(instance);
    const env = await server.exec("systemctl", [
      "show",
      "-p",
      "Environment",
      "--value",
      "demo-web@blue.service",
    ]);
    expect(env.stdout).toContain("OPERATOR_NOTE=kept");
    // and rf-agent's own drop-in beside it is still its own
    expect(await server.readFile("/etc/systemd/system/demo-web@blue.service.d/rf-agent.conf")).toContain(
      "Rendered by rf-agent",
    );
  });

  it("keeps the operator's nginx snippets through three deploys and a rollback, and they take effect", async () => {
    const httpSnippet = "limit_req_zone $binary_remote_addr zone=operator:1m rate=1000r/s;\n";
    const siteSnippet = [
      "limit_req zone=operator burst=200 nodelay;",
      "add_header X-Operator kept always;",
      'location = /operator { default_type text/plain; return 200 "mine\\n"; }',
      "",
    ].join("\n");
    await server.writeFile("/etc/nginx/rf-agent-local/http.conf", httpSnippet);
    await server.writeFile("/etc/nginx/rf-agent-local/site.conf", siteSnippet);
    await config({
      nginx: {
        include: "/etc/nginx/rf-agent-local/site.conf",
        http_include: "/etc/nginx/rf-agent-local/http.conf",
      },
    });
    const inEffect = async () => {
      const own = await server.curl("/operator");
      expect(own.status).toBe(200);
      expect(own.body.trim()).toBe("mine");
      const headers = await server.sh("curl -sS -D - -o /dev/null http://127.0.0.1/api/version");
      expect(headers.stdout.toLowerCase()).toContain("x-operator: kept");
    };
    for (const [i, version] of ["1.2.0", "1.2.1", "1.2.2"].entries()) {
      await pushVersion(server, origin, version);
      if (i === 0) await underLoad(["deploy"]);
      else await run(["deploy"]);
      expect(await served()).toMatch(new RegExp(`^${version.replace(/\./g, "\\.")}/`));
      await inEffect();
    }
    await underLoad(["rollback"]);
    expect(await served()).toMatch(/^1\.2\.1\//);
    await inEffect();
    expect(await server.readFile("/etc/nginx/rf-agent-local/http.conf")).toBe(httpSnippet);
    expect(await server.readFile("/etc/nginx/rf-agent-local/site.conf")).toBe(siteSnippet);
    await config();
  });
});
