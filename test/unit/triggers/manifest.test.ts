import { stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readManifest, sha256, writeManifest, type Manifest } from "../../../src/triggers/manifest.js";
import { tempDir } from "../helpers/fakes.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

const MANIFEST: Manifest = {
  version: 1,
  app: "demo",
  installedAt: "2025-01-02T03:04:05.000Z",
  files: [{ path: "/etc/systemd/system/rf-agent-demo-deploy.path", sha256: sha256("x") }],
  units: ["rf-agent-demo-deploy.path"],
  generatedSecret: null,
  listenerInputs: sha256("config+secret"),
};

describe("manifest", () => {
  it("round-trips through a root-only file in a root-only dir", async () => {
    const file = path.join(dir, "state", "demo", "install.json");
    await writeManifest(file, MANIFEST);
    expect(await readManifest(file)).toEqual(MANIFEST);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(file))).mode & 0o777).toBe(0o700);
  });

  it("reads a missing, corrupt or foreign file as no manifest", async () => {
    const file = path.join(dir, "install.json");
    expect(await readManifest(file)).toBeNull();
    await writeFile(file, "{oops");
    expect(await readManifest(file)).toBeNull();
    await writeFile(file, JSON.stringify({ ...MANIFEST, version: 2 }));
    expect(await readManifest(file)).toBeNull();
  });
});
