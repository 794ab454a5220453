import { describe, expect, it } from "vitest";
import {
  DEFAULT_DIRS,
  healthUrl,
  isColor,
  layoutFor,
  other,
  triggerLayout,
} from "../../../src/core/layout.js";
import { API, WEB, testConfig } from "../helpers/config.js";

describe("layoutFor", () => {
  const layout = layoutFor(testConfig());

  it("puts checkouts under the root and venvs outside them", () => {
    expect(layout.app).toBe("demo");
    expect(layout.checkout("blue")).toBe("/srv/demo/blue");
    expect(layout.checkout("green")).toBe("/srv/demo/green");
    expect(layout.venv("blue")).toBe("/srv/demo/venvs/blue");
    expect(layout.venv("green")).toBe("/srv/demo/venvs/green");
  });

  it("names template and instance units", () => {
    expect(layout.template(API)).toBe("demo-api@.service");
    expect(layout.unit(WEB, "green")).toBe("demo-web@green.service");
    expect(layout.units("blue")).toEqual(["demo-api@blue.service", "demo-web@blue.service"]);
    expect(layout.units("green")).toEqual(["demo-api@green.service", "demo-web@green.service"]);
  });

  it("puts unit files in the systemd dir, drop-ins in the instance's .d", () => {
    expect(layout.templatePath(API)).toBe("/etc/systemd/system/demo-api@.service");
    expect(layout.dropInPath(WEB, "blue")).toBe("/etc/systemd/system/demo-web@blue.service.d/rf-agent.conf");
  });

  it("puts nginx, state and lock files in their places", () => {
    expect(layout.sitePath).toBe("/etc/nginx/sites-available/rf-agent-demo.conf");
    expect(layout.siteLinkPath).toBe("/etc/nginx/sites-enabled/rf-agent-demo.conf");
    expect(layout.defaultSiteLinkPath).toBe("/etc/nginx/sites-enabled/default");
    expect(layout.liveIncludePath).toBe("/etc/nginx/rf-agent/demo/live.conf");
    expect(layout.stateDir).toBe("/var/lib/rf-agent/demo");
    expect(layout.statePath).toBe("/var/lib/rf-agent/demo/state.json");
    expect(layout.lockPath).toBe("/run/rf-agent/demo.lock");
    expect(layout.lockHolderPath).toBe("/run/rf-agent/demo.lock.holder");
    expect(layout.nginxId).toBe("rf_demo");
  });

  it("uses the default host dirs unless given others", () => {
    expect(DEFAULT_DIRS).toEqual({
      systemdDir: "/etc/systemd/system",
      nginxDir: "/etc/nginx",
      stateRoot: "/var/lib/rf-agent",
      runRoot: "/run/rf-agent",
    });
    const moved = layoutFor(testConfig(), {
      systemdDir: "/t/sd",
      nginxDir: "/t/ng",
      stateRoot: "/t/st",
      runRoot: "/t/run",
    });
    expect(moved.templatePath(API)).toBe("/t/sd/demo-api@.service");
    expect(moved.dropInPath(API, "green")).toBe("/t/sd/demo-api@green.service.d/rf-agent.conf");
    expect(moved.sitePath).toBe("/t/ng/sites-available/rf-agent-demo.conf");
    expect(moved.liveIncludePath).toBe("/t/ng/rf-agent/demo/live.conf");
    expect(moved.statePath).toBe("/t/st/demo/state.json");
    expect(moved.lockPath).toBe("/t/run/demo.lock");
    // Only host dirs move: the app's own root does not.
    expect(moved.checkout("blue")).toBe("/srv/demo/blue");
  });

  it("turns every '-' of the app name into '_' for nginx, and only for nginx", () => {
    const l = layoutFor(
      testConfig((c) => {
        c.app.name = "rio-futuro-2";
        c.app.root = "/srv/rio-futuro-2";
      }),
    );
    expect(l.nginxId).toBe("rf_rio_futuro_2");
    expect(l.unit(API, "blue")).toBe("rio-futuro-2-api@blue.service");
    expect(l.sitePath).toBe("/etc/nginx/sites-available/rf-agent-rio-futuro-2.conf");
    expect(l.lockPath).toBe("/run/rf-agent/rio-futuro-2.lock");
  });
});

describe("other / isColor", () => {
  it("other() swaps the colors", () => {
    expect(other("blue")).toBe("green");
    expect(other("green")).toBe("blue");
  });

  it.each([
    ["blue", true],
    ["green", true],
    ["red", false],
    ["Blue", false],
    ["", false],
    [null, false],
    [undefined, false],
    [1, false],
  ])("isColor(%j) is %s", (value, expected) => {
    expect(isColor(value)).toBe(expected);
  });
});

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

describe("layoutFor: the agent's units", () => {
  it("holds the trigger layout of the same app and host dirs", () => {
    const dirs = { systemdDir: "/t/systemd", nginxDir: "/t/nginx", stateRoot: "/t/state", runRoot: "/t/run" };
    const layout = layoutFor(testConfig(), dirs);
    expect(layout.triggers.spoolDir).toBe("/t/private/rf-agent-demo-webhook/spool");
    expect(layout.triggers.spoolTop).toBe("/t");
    expect(layout.triggers.manifestPath).toBe("/t/state/demo/install.json");
    expect(layoutFor(testConfig()).triggers.spoolTop).toBe("/var/lib");
  });
});

describe("healthUrl", () => {
  it("asks the service on its own port of that color, past nginx", () => {
    expect(healthUrl(API, "blue")).toBe(`http://127.0.0.1:${API.ports.blue}${API.health}`);
    expect(healthUrl(WEB, "green")).toBe(`http://127.0.0.1:${WEB.ports.green}${WEB.health}`);
    expect(healthUrl({ ...API, ports: { blue: 8000, green: 8001 }, health: "/healthz" }, "green")).toBe(
      "http://127.0.0.1:8001/healthz",
    );
  });
});
