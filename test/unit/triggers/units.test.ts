import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Config } from "../../../src/config/types.js";
import { triggerLayout } from "../../../src/core/layout.js";
import { deployTimeoutSec, renderTriggerUnits, type AgentCommand } from "../../../src/triggers/units.js";
import { testConfig } from "../helpers/config.js";

const CMD: AgentCommand = {
  node: "/usr/bin/node",
  script: "/usr/lib/node_modules/rf-agent/dist/cli.js",
  configPath: "/etc/rf-agent/agent.ini",
};

function fixture(name: string): string {
  return readFileSync(new URL(`../../fixtures/triggers/${name}`, import.meta.url), "utf8");
}

function render(patch?: (c: Config) => void, cmd = CMD) {
  const files = renderTriggerUnits(testConfig(patch), triggerLayout("demo"), cmd);
  return Object.fromEntries(files.map((f) => [f.path, f]));
}

describe("renderTriggerUnits", () => {
  const withSchedule = (c: Config) => (c.trigger.schedule = "*:0/5");

  it.each([
    "rf-agent-demo-deploy@.service",
    "rf-agent-demo-deploy.timer",
    "rf-agent-demo-deploy.path",
    "rf-agent-demo-webhook.service",
  ])("renders %s exactly", (name) => {
    const file = render(withSchedule)[`/etc/systemd/system/${name}`];
    expect(file?.mode).toBe(0o644);
    expect(file?.content).toBe(fixture(name));
  });

  it("renders no timer without a schedule", () => {
    expect(Object.keys(render())).toEqual([
      "/etc/systemd/system/rf-agent-demo-deploy@.service",
      "/etc/systemd/system/rf-agent-demo-deploy.path",
      "/etc/systemd/system/rf-agent-demo-webhook.service",
    ]);
  });

  it("opens the listener to other addresses only when it listens on them", () => {
    const open = render((c) => (c.webhook.listen = { host: "0.0.0.0", port: 9443 }))[
      "/etc/systemd/system/rf-agent-demo-webhook.service"
    ]!.content;
    expect(open).not.toContain("IPAddressDeny");
    expect(open).toContain("# Listens on 0.0.0.0:9443: deliveries may come from any address.");
    expect(open).toContain("Description=rf-agent: webhook listener for demo (0.0.0.0:9443)");
    const v6 = render((c) => (c.webhook.listen = { host: "::1", port: 9000 }))[
      "/etc/systemd/system/rf-agent-demo-webhook.service"
    ]!.content;
    expect(v6).toContain("IPAddressAllow=localhost");
    expect(v6).toContain("([::1]:9000)");
  });

  it("quotes odd install paths for ExecStart= and keeps %d for the credentials", () => {
    const files = render(undefined, { ...CMD, script: "/opt/rf agent/100%/cli.js" });
    expect(files["/etc/systemd/system/rf-agent-demo-webhook.service"]!.content).toContain(
      'ExecStart=/usr/bin/node "/opt/rf agent/100%%/cli.js" webhook --config %d/config',
    );
    expect(files["/etc/systemd/system/rf-agent-demo-deploy@.service"]!.content).toContain(
      'ExecStart=/usr/bin/node "/opt/rf agent/100%%/cli.js" deploy --config /etc/rf-agent/agent.ini --wait 900',
    );
  });

  it("runs the single executable alone, with no script after it", () => {
    const files = render(undefined, { ...CMD, node: "/usr/local/bin/rf-agent", script: "" });
    expect(files["/etc/systemd/system/rf-agent-demo-webhook.service"]!.content).toContain(
      "ExecStart=/usr/local/bin/rf-agent webhook --config %d/config\n",
    );
    expect(files["/etc/systemd/system/rf-agent-demo-deploy@.service"]!.content).toContain(
      "ExecStart=/usr/local/bin/rf-agent deploy --config /etc/rf-agent/agent.ini --wait 900\n",
    );
  });

  it("names another secret file in LoadCredential=", () => {
    const content = render((c) => (c.webhook.secretFile = "/etc/demo/hook.key"))[
      "/etc/systemd/system/rf-agent-demo-webhook.service"
    ]!.content;
    expect(content).toContain("LoadCredential=secret:/etc/demo/hook.key");
  });

  it("gives a deploy run the lock wait plus every bounded step", () => {
    expect(deployTimeoutSec(testConfig())).toBe(900 + 1800 + 60 + 5 + 30 + 10);
  });
});
