import { describe, expect, it } from "vitest";
import { createContext, nginxHost } from "../../src/context.js";
import { testConfig } from "./helpers/config.js";
import { captureLogger, dirsUnder } from "./helpers/fakes.js";

describe("nginxHost", () => {
  it.each([
    ["_", "localhost"],
    ["example.com", "example.com"],
    ["example.com www.example.com", "example.com"],
    ["*.example.com", "localhost"],
    ["~^app\\d+\\.example\\.com$", "localhost"],
  ])("server_name %j is reached with Host %j", (serverName, host) => {
    expect(nginxHost(testConfig((c) => (c.nginx.serverName = serverName)))).toBe(host);
  });
});

describe("createContext", () => {
  it("lays the app out in the given host dirs, with no user yet", async () => {
    const ctx = createContext(testConfig(), captureLogger().log, dirsUnder("/tmp/x"));
    expect(ctx.layout.statePath).toBe("/tmp/x/state/demo/state.json");
    expect(ctx.user).toBeNull();
    const before = Date.now();
    await ctx.sleep(20);
    expect(Date.now() - before).toBeGreaterThanOrEqual(15);
  });
});
