// Release operations on a real host: migration hooks, env and secrets, preview + switch, notifications, metrics, doctor.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeAgentConfig, type ConfigOverrides } from "../../scripts/lab/config.js";
import { createOrigin, pushVersion, type Origin } from "../../scripts/lab/origin.js";
import { TestServer, type InnerProcess } from "../../scripts/lab/server.js";

const SECRET = "s3cr3t-value-that-must-never-be-logged";
const ENV_FILE = "/etc/rf-agent/demo.env";
const METRICS = "/var/lib/prometheus/node-exporter/rf_agent.prom";

// A tiny webhook receiver standing in for Slack: one JSON body per line.
const RECEIVER = `
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        with open("/tmp/notify.log", "ab") as f:
            f.write(body + b"\\n")
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", 9999), H).serve_forever()
`;

const OPS: ConfigOverrides = {
  app: { env_file: ENV_FILE, required_env: "DATABASE_URL, SECRET_KEY" },
  hooks: {
    pre_switch: "python migrations/migrate.py",
    post_switch: "echo post-switch-ran $RF_COLOR $SECRET_KEY",
    timeout: 60,
  },
  notify: { url: "http://127.0.0.1:9999/notify" },
  metrics: { textfile: METRICS },
  nginx: { preview_listen: "127.0.0.1:8081" },
};

let server: TestServer;
let origin: Origin;
let receiver: InnerProcess;

async function version(base = ""): Promise<string> {
  const r = await server.curl(`${base}/api/version`);
  expect(r.status, r.body).toBe(200);
  const b = JSON.parse(r.body) as { version: string; color: string };
  return `${b.version}/${b.color}`;
}

async function notices(): Promise<{ text: string; outcome: string; ok: boolean; event: string }[]> {
  const r = await server.sh("cat /tmp/notify.log 2>/dev/null");
  return r.stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { text: string; outcome: string; ok: boolean; event: string });
}

beforeAll(async () => {
  server = await TestServer.up();
  origin = await createOrigin(server);
  await pushVersion(server, origin, "1.0.0");
  receiver = server.spawn("/usr/bin/python3", ["-c", RECEIVER]);
});

afterAll(async () => {
  receiver?.kill("SIGTERM");
  await receiver?.catch(() => undefined);
  await server?.down();
});

describe("operations", () => {
  it("doctor on a fresh host reports what is missing, with the fix", async () => {
    await writeAgentConfig(server);
    const r = await server.rfAgent(["doctor"]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain("✓ systemd is the init system");
    expect(r.stdout).toContain("✓ nginx is installed and its config is valid");
    expect(r.stdout).toContain("✗ app user demo exists");
    expect(r.stdout).toMatch(/fix: useradd --system/);
    expect(r.stdout).toMatch(/✓ repository \/srv\/origin\/app.git is reachable/);
  });

  it("stops a deploy whose required variable is missing or a placeholder, naming it but never its value", async () => {
    await writeAgentConfig(server, OPS);
    await server.writeFile(ENV_FILE, "DATABASE_URL=sqlite:///x\nSECRET_KEY=changeme\n", 0o600);
    let r = await server.rfAgent(["deploy"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("SECRET_KEY is still a placeholder value");
    expect(r.stderr).not.toContain("changeme");

    await server.writeFile(ENV_FILE, `SECRET_KEY=${SECRET}\n`, 0o600);
    r = await server.rfAgent(["deploy"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("DATABASE_URL is not set");
    expect(r.stderr).not.toContain(SECRET);

    await server.writeFile(ENV_FILE, `DATABASE_URL=sqlite:///x\nSECRET_KEY=${SECRET}\n`, 0o644);
    r = await server.rfAgent(["deploy"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`chmod 600 ${ENV_FILE}`);
    // nothing went live
    expect((await server.curl("/api/version")).status).not.toBe(200);
  });

  it("runs the migration before the switch, redacts secrets, notifies and writes metrics", async () => {
    await server.writeFile(ENV_FILE, `DATABASE_URL=sqlite:///x\nSECRET_KEY=${SECRET}\n`, 0o600);
    const r = await server.rfAgent(["deploy"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await version()).toBe("1.0.0/blue");
    const db = JSON.parse((await server.curl("/api/db")).body) as { migrations: string[] };
    expect(db.migrations).toEqual(["001_items.sql"]);
    const steps = (
      JSON.parse((await server.rfAgent(["history", "--json", "-n", "1"])).stdout) as {
        steps: { step: string }[];
      }
    ).steps.map((s) => s.step);
    expect(steps.indexOf("pre_switch hook")).toBeGreaterThan(-1);
    expect(steps.indexOf("pre_switch hook")).toBeLessThan(steps.indexOf("switch nginx"));
    expect(r.stderr).toContain("post-switch-ran blue [redacted]");
    expect(r.stderr).not.toContain(SECRET);
    const sent = await notices();
    expect(sent.at(-1)).toMatchObject({ event: "deploy", outcome: "deployed", ok: true });
    expect(sent.at(-1)?.text).toMatch(/demo .*deploy deployed/);
    const metrics = await server.readFile(METRICS);
    expect(metrics).toMatch(/rf_agent_live_info\{app="demo",color="blue",commit="[0-9a-f]{40}"\} 1/);
    expect(metrics).toContain('rf_agent_deploys_total{app="demo",outcome="deployed"} 1');
    expect(metrics).toContain('rf_agent_last_deploy_success{app="demo"} 1');
  });

  it("a failing pre_switch hook leaves the live color serving (exit 1) and is notified", async () => {
    await pushVersion(server, origin, "1.0.1-badmigration", {
      files: { "migrations/002_broken.sql": "ALTER TABLE no_such_table ADD COLUMN x TEXT;\n" },
    });
    const r = await server.rfAgent(["deploy"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/the pre_switch hook `python migrations\/migrate.py` exited with status 1/);
    expect(r.stderr).toMatch(/002_broken.sql failed/);
    expect(await version()).toBe("1.0.0/blue");
    const last = (await notices()).at(-1);
    expect(last).toMatchObject({ event: "deploy", outcome: "failed", ok: false });
    expect(await server.readFile(METRICS)).toContain('rf_agent_last_deploy_success{app="demo"} 0');
  });

  it("deploy --no-switch shows the release on the preview while port 80 serves the old one; switch flips", async () => {
    await pushVersion(server, origin, "1.0.2", {
      files: { "migrations/002_broken.sql": "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY);\n" },
    });
    const staged = await server.rfAgent(["deploy", "--no-switch"]);
    expect(staged.exitCode, staged.stderr).toBe(0);
    expect(staged.stdout).toMatch(/preview it at http:\/\/127.0.0.1:8081\//);
    expect(await version("http://127.0.0.1:8081")).toBe("1.0.2/green");
    expect(await version()).toBe("1.0.0/blue");
    const status = JSON.parse((await server.rfAgent(["status", "--json"])).stdout) as {
      preview: { url: string; color: string };
      staged: { color: string };
    };
    expect(status.preview).toMatchObject({ url: "http://127.0.0.1:8081/", color: "green" });
    expect(status.staged.color).toBe("green");

    const r = await server.rfAgent(["switch"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await version()).toBe("1.0.2/green");
    // the preview now shows the idle (previous) color
    const db = JSON.parse((await server.curl("/api/db")).body) as { migrations: string[] };
    expect(db.migrations).toEqual(["001_items.sql", "002_broken.sql"]);
    expect((await notices()).at(-1)).toMatchObject({ event: "switch", outcome: "switched", ok: true });
  });

  it("doctor passes every check on the set-up host", async () => {
    const r = await server.rfAgent(["doctor"]);
    expect(r.stdout).toMatch(/all \d+ checks passed/);
    expect(r.exitCode).toBe(0);
  });

  it("as a user other than root: each command says what to do (exit 2), never an internal error", async () => {
    // The config readable, so what stops the user is rf-agent's own root-only state.
    await server.sh("install -m 644 /etc/rf-agent/agent.ini /tmp/agent-readable.ini");
    const asNobody = (args: string) =>
      server.sh(
        `setpriv --reuid=nobody --regid=nogroup --clear-groups rf-agent ${args} --config /tmp/agent-readable.ini; echo "exit=$?"`,
      );
    const live = await server.sh("cat /var/lib/rf-agent/demo/state.json | sha256sum");
    for (const [args, file] of [
      ["status", "/var/lib/rf-agent/demo/state.json"],
      ["history -n 1", "/var/lib/rf-agent/demo/history.jsonl"],
    ] as const) {
      const r = await asNobody(args);
      expect(r.stdout, args).toContain("exit=2");
      expect(r.stderr, args).toContain(`this user may not read ${file}`);
      expect(r.stderr, args).toContain(`fix: run it with sudo: sudo rf-agent ${args} --config`);
      expect(r.stderr, args).not.toContain("internal error");
    }
    for (const [args, why] of [
      ["doctor", "doctor checks what only root can"],
      ["rollback", "rollback changes systemd units and nginx"],
    ] as const) {
      const r = await asNobody(args);
      expect(r.stdout, args).toContain("exit=2");
      expect(r.stderr, args).toContain(`rf-agent ${why}`);
      expect(r.stderr, args).toContain("so it must run as root");
    }
    const logs = await asNobody("logs -n 5");
    expect(logs.stdout).toContain("no journal lines this user may read: run it with sudo");
    expect(logs.stdout).toContain("exit=0");
    // and nothing changed for it
    expect(await server.sh("cat /var/lib/rf-agent/demo/state.json | sha256sum")).toEqual(live);
  });
});
