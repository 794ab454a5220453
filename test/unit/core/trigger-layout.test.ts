import { describe, expect, it } from "vitest";
import { triggerLayout } from "../../../src/core/layout.js";

describe("triggerLayout", () => {
  it("names the units and the listener's state after the app", () => {
    const tl = triggerLayout("shop-2");
    expect(tl.deployUnit("timer")).toBe("rf-agent-shop-2-deploy@timer.service");
    expect(tl.deployUnit("webhook")).toBe("rf-agent-shop-2-deploy@webhook.service");
    expect(tl.timer).toBe("rf-agent-shop-2-deploy.timer");
    expect(tl.path).toBe("rf-agent-shop-2-deploy.path");
    expect(tl.listener).toBe("rf-agent-shop-2-webhook.service");
    expect(tl.spoolDir).toBe("/var/lib/private/rf-agent-shop-2-webhook/spool");
    expect(tl.deliveriesPath).toBe("/var/lib/private/rf-agent-shop-2-webhook/deliveries.json");
    expect(tl.listenerStateLink).toBe("/var/lib/rf-agent-shop-2-webhook");
    expect(tl.manifestPath).toBe("/var/lib/rf-agent/shop-2/install.json");
  });

  it("puts everything under test directories", () => {
    const tl = triggerLayout("demo", {
      systemdDir: "/t/systemd",
      nginxDir: "/t/nginx",
      stateRoot: "/t/state",
      runRoot: "/t/run",
    });
    expect(tl.unitPath(tl.timer)).toBe("/t/systemd/rf-agent-demo-deploy.timer");
    expect(tl.spoolDir).toBe("/t/private/rf-agent-demo-webhook/spool");
    expect(tl.manifestPath).toBe("/t/state/demo/install.json");
  });
});
