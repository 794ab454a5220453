// ensureRoot on a real file system. It sets owners, so it needs root (CI runs as root); the
// directories live under /run, whose parents only root can write, as ensureRoot demands.
import {
  chmod,
  chown,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ensureRoot } from "../../../src/ops/host.js";
import type { UnixUser } from "../../../src/adapters/users.js";
import { testConfig } from "../helpers/config.js";
import { dirsUnder, fakeContext } from "../helpers/fakes.js";

const isRoot = process.getuid?.() === 0;
const APP: UnixUser = { name: "demo", group: "demo", uid: 4321, gid: 4321, home: "" };

let base: string;
beforeEach(async () => {
  if (isRoot) base = await mkdtemp("/run/rf-agent-unit-host-");
});
afterEach(async () => {
  if (isRoot) await rm(base, { recursive: true, force: true });
});

function setup() {
  const root = path.join(base, "srv", "demo");
  const config = testConfig((c) => {
    c.app.root = root;
    c.app.dataDir = path.join(base, "data", "demo");
  });
  const ctx = fakeContext(config, { dirs: dirsUnder(path.join(base, "host")) });
  return { root, ctx };
}

const owner = async (p: string) => {
  const st = await lstat(p);
  return `${st.uid} ${(st.mode & 0o7777).toString(8)}${st.isSymbolicLink() ? " link" : ""}`;
};

describe.runIf(isRoot)("ensureRoot", () => {
  beforeEach(async () => {
    await mkdir(path.join(base, "srv"), { mode: 0o755 });
    await mkdir(path.join(base, "data"), { mode: 0o755 });
    await chmod(base, 0o755);
  });

  it("makes ROOT and ROOT/venvs root's and everything the app writes the app user's", async () => {
    const { root, ctx } = setup();
    await ensureRoot(ctx, APP);
    expect(await owner(root)).toBe("0 755");
    expect(await owner(`${root}/venvs`)).toBe("0 755");
    for (const d of ["blue", "green", "venvs/blue", "venvs/green"])
      expect(await owner(`${root}/${d}`)).toBe("4321 750");
    expect(await owner(`${root}/.cache`)).toBe("4321 700");
    expect(await owner(ctx.config.app.dataDir)).toBe("4321 750");
    expect(await owner(ctx.layout.stateDir)).toBe("0 700");
    expect(await readFile(path.join(ctx.layout.stateDir, "root"), "utf8")).toBe(`${root}\n`);
    // Twice is the same.
    await ensureRoot(ctx, APP);
    expect(await owner(root)).toBe("0 755");
  });

  it("moves a host of the old layout over, replacing a symlink planted at ROOT/venvs", async () => {
    const { root, ctx } = setup();
    await mkdir(`${root}/blue`, { recursive: true });
    await chmod(root, 0o750);
    const elsewhere = path.join(base, "etc");
    await mkdir(elsewhere, { mode: 0o700 });
    await symlink(elsewhere, `${root}/venvs`);
    await chown(root, APP.uid, APP.gid);
    await mkdir(ctx.layout.stateDir, { recursive: true });
    await writeFile(ctx.layout.statePath, "{}");
    await ensureRoot(ctx, APP);
    expect(await owner(root)).toBe("0 755");
    expect(await owner(`${root}/venvs`)).toBe("0 755");
    expect(await owner(elsewhere)).toBe("0 700");
    expect(await owner(`${root}/blue`)).toBe("4321 750");
  });

  it("refuses a non-empty ROOT it did not set up, and changes nothing", async () => {
    const { root, ctx } = setup();
    await mkdir(root, { mode: 0o700 });
    await writeFile(`${root}/precious`, "x");
    await expect(ensureRoot(ctx, APP)).rejects.toMatchObject({
      code: "CONFIG",
      exitCode: 2,
      message: expect.stringContaining("holds files rf-agent did not put there"),
    });
    expect(await owner(root)).toBe("0 700");
    await expect(stat(`${root}/venvs`)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("takes over an empty ROOT", async () => {
    const { root, ctx } = setup();
    await mkdir(root, { mode: 0o700 });
    await ensureRoot(ctx, APP);
    expect(await owner(root)).toBe("0 755");
  });

  it("refuses a ROOT below a directory others can write", async () => {
    const { ctx } = setup();
    await chmod(path.join(base, "srv"), 0o777);
    await expect(ensureRoot(ctx, APP)).rejects.toMatchObject({
      code: "CONFIG",
      message: expect.stringContaining("which users other than root can change"),
    });
  });
});
