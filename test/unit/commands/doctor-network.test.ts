// doctor says what each service may reach ([service.NAME] network).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { doctor, formatChecks } from "../../../src/commands/doctor.js";
import { testConfig } from "../helpers/config.js";
import { dirsUnder, fakeContext, fakeRunner, tempDir } from "../helpers/fakes.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

describe("doctor: network access", () => {
  it("shows what each service may reach, as configured", async () => {
    const config = testConfig((c) => {
      c.services[0]!.network = ["10.0.5.20", "192.168.10.0/24"];
    });
    const results = await doctor(fakeContext(config, { run: fakeRunner(), dirs: dirsUnder(dir) }));
    const reach = results.filter((r) => r.title.startsWith("what [service."));
    expect(reach).toEqual([
      { title: "what [service.api] may reach", ok: true, detail: "localhost and 10.0.5.20, 192.168.10.0/24" },
      { title: "what [service.web] may reach", ok: true, detail: "any address" },
    ]);
    expect(formatChecks(reach).split("\n")[1]).toBe("✓ what [service.web] may reach (any address)");
  });

  it("says localhost only for network = localhost", async () => {
    const config = testConfig((c) => (c.services[1]!.network = "localhost"));
    const results = await doctor(fakeContext(config, { run: fakeRunner(), dirs: dirsUnder(dir) }));
    expect(results.find((r) => r.title === "what [service.web] may reach")?.detail).toBe("localhost only");
  });
});
