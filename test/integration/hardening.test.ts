// The units rf-agent installs are verified by systemd itself and stay hardened (exposure score <= 2.5).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { layoutFor } from "../../src/core/layout.js";
import { renderUnits } from "../../src/core/render.js";
import { triggerLayout } from "../../src/core/layout.js";
import { renderTriggerUnits } from "../../src/triggers/units.js";
import { renderConfig } from "../../scripts/lab/config.js";
import { TestServer } from "../../scripts/lab/server.js";

const MAX_EXPOSURE = 2.5;
let server: TestServer;

beforeAll(async () => {
  server = await TestServer.up();
  const config = parseConfig(renderConfig({ app: { env_file: "/etc/rf-agent/demo.env" } }), "test");
  const layout = layoutFor(config);
  await server.sh(
    "useradd --system --user-group --home-dir /srv/demo demo && mkdir -p /srv/demo/blue /srv/demo/venvs/blue/bin",
  );
  await server.writeFile("/etc/rf-agent/demo.env", "A=1\n", 0o600);
  for (const color of ["blue", "green"] as const) {
    for (const f of renderUnits(config, layout, color, "demo"))
      await server.writeFile(f.path, f.content, f.mode);
  }
  // The webhook listener as `rf-agent install` renders it: loopback (nginx proxies) and public.
  await server.writeFile("/etc/rf-agent/agent.ini", "[app]\nrepo = /srv/origin.git\n", 0o600);
  await server.writeFile("/etc/rf-agent/webhook.secret", "s".repeat(64), 0o600);
  const cmd = {
    node: "/usr/bin/node",
    script: "/usr/local/bin/rf-agent",
    configPath: "/etc/rf-agent/agent.ini",
  };
  for (const [suffix, listen] of [
    ["", "127.0.0.1:9000"],
    ["-public", "0.0.0.0:9000"],
  ] as const) {
    const tconfig = parseConfig(renderConfig({ webhook: { listen } }), "test");
    const tl = triggerLayout(tconfig.app.name);
    for (const f of renderTriggerUnits(tconfig, tl, cmd)) {
      if (!f.path.endsWith(tl.listener)) continue;
      await server.writeFile(f.path.replace(/\.service$/, `${suffix}.service`), f.content, f.mode);
    }
  }
  // verify wants the ExecStart binaries to exist
  await server.sh(
    "for c in blue green; do mkdir -p /srv/demo/venvs/$c/bin; for b in uvicorn streamlit; do ln -sf /bin/true /srv/demo/venvs/$c/bin/$b; done; done; systemctl daemon-reload",
  );
});

afterAll(async () => {
  await server?.down();
});

describe("hardened units", () => {
  for (const unit of [
    "demo-api@blue.service",
    "demo-web@green.service",
    "rf-agent-demo-webhook.service",
    "rf-agent-demo-webhook-public.service",
  ]) {
    it(`${unit} passes systemd-analyze verify with no output`, async () => {
      const r = await server.exec("systemd-analyze", ["verify", "--recursive-errors=yes", unit]);
      expect(r.stderr.trim()).toBe("");
      expect(r.stdout.trim()).toBe("");
      expect(r.exitCode).toBe(0);
    });

    it(`${unit} scores at most ${MAX_EXPOSURE} in systemd-analyze security`, async () => {
      const r = await server.exec("systemd-analyze", [
        "security",
        "--offline=yes",
        `/etc/systemd/system/${unit}`,
      ]);
      const m = /Overall exposure level for .*: ([\d.]+)/.exec(r.stdout);
      expect(m, r.stdout + r.stderr).not.toBeNull();
      expect(Number(m![1])).toBeLessThanOrEqual(MAX_EXPOSURE);
      // the properties the issue names, each one checked so it cannot silently regress
      for (const setting of [
        "NoNewPrivileges=",
        "PrivateTmp=",
        "ProtectHome=",
        "ProtectSystem=",
        "RestrictAddressFamilies=~AF_PACKET",
        "SystemCallFilter=~@",
        "CapabilityBoundingSet=~CAP_SYS_ADMIN",
      ]) {
        const line = r.stdout.split("\n").find((l) => l.includes(setting));
        expect(line, `${setting} in:\n${r.stdout}`).toMatch(/^✓/);
      }
    });
  }
});
