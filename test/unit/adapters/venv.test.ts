import { mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  applyVenv,
  planVenv,
  pythonIdentity,
  requirementsHash,
  requirementsProblem,
} from "../../../src/adapters/venv.js";
import { fakeRunner, tempDir } from "../helpers/fakes.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

const IDENTITY = "3.11.2 /usr/bin/python3.11";
const python = () => fakeRunner(() => ({ stdout: `${IDENTITY}\n` }));

const markerOf = (venv: string) => `${venv}.marker.json`;

async function makeVenv(venv: string, marker: object | null): Promise<void> {
  await mkdir(venv, { recursive: true });
  await writeFile(path.join(venv, "pyvenv.cfg"), "home = /usr/bin\n");
  if (marker) await writeFile(markerOf(venv), JSON.stringify(marker));
}

describe("pythonIdentity", () => {
  it("asks the interpreter its version and path", async () => {
    const run = python();
    expect(await pythonIdentity(run, "/usr/bin/python3")).toBe(IDENTITY);
    expect(run.calls[0]!.file).toBe("/usr/bin/python3");
    expect(run.calls[0]!.options?.code).toBe("VENV");
    // As root: isolated, from /, so a venv.py in the current directory is never imported.
    expect(run.calls[0]!.args[0]).toBe("-I");
    expect(run.calls[0]!.options?.cwd).toBe("/");
  });
});

describe("planVenv", () => {
  const reqs = "fastapi==0.115.0\n";

  it("creates and installs when there is no venv", async () => {
    const plan = await planVenv(IDENTITY, path.join(dir, "venv"), markerOf(path.join(dir, "venv")), reqs, []);
    expect(plan).toEqual({
      create: true,
      install: true,
      python: IDENTITY,
      hash: requirementsHash(reqs, IDENTITY, []),
    });
  });

  it("does nothing when the marker matches", async () => {
    const venv = path.join(dir, "venv");
    await makeVenv(venv, { python: IDENTITY, requirementsHash: requirementsHash(reqs, IDENTITY, []) });
    const plan = await planVenv(IDENTITY, venv, markerOf(venv), reqs, []);
    expect(plan).toMatchObject({ create: false, install: false });
  });

  it("installs again when requirements or pip args change", async () => {
    const venv = path.join(dir, "venv");
    await makeVenv(venv, { python: IDENTITY, requirementsHash: requirementsHash(reqs, IDENTITY, []) });
    expect(await planVenv(IDENTITY, venv, markerOf(venv), reqs + "uvicorn\n", [])).toMatchObject({
      create: false,
      install: true,
    });
    expect(await planVenv(IDENTITY, venv, markerOf(venv), reqs, ["--index-url", "x"])).toMatchObject({
      create: false,
      install: true,
    });
  });

  it("installs again after a run killed during pip (marker without hash)", async () => {
    const venv = path.join(dir, "venv");
    await makeVenv(venv, { python: IDENTITY, requirementsHash: null });
    expect(await planVenv(IDENTITY, venv, markerOf(venv), reqs, [])).toMatchObject({
      create: false,
      install: true,
    });
  });

  it("recreates when the python changed or the venv is damaged", async () => {
    const venv = path.join(dir, "venv");
    await makeVenv(venv, { python: "3.9.2 /usr/bin/python3.9", requirementsHash: "x" });
    expect(await planVenv(IDENTITY, venv, markerOf(venv), reqs, [])).toMatchObject({
      create: true,
      install: true,
    });
    const broken = path.join(dir, "broken");
    await mkdir(broken);
    await writeFile(markerOf(broken), "{oops");
    expect(await planVenv(IDENTITY, broken, markerOf(broken), reqs, [])).toMatchObject({ create: true });
  });

  it("never trusts a marker the app user could plant in the venv, nor a linked pyvenv.cfg", async () => {
    const venv = path.join(dir, "venv");
    await mkdir(venv);
    await writeFile(path.join(venv, ".rf-agent-install.json"), JSON.stringify({ python: IDENTITY }));
    await symlink("/etc/hostname", path.join(venv, "pyvenv.cfg"));
    await writeFile(
      markerOf(venv),
      JSON.stringify({ python: IDENTITY, requirementsHash: requirementsHash(reqs, IDENTITY, []) }),
    );
    expect(await planVenv(IDENTITY, venv, markerOf(venv), reqs, [])).toMatchObject({ create: true });
  });
});

describe("applyVenv", () => {
  const target = (venv: string) => ({
    venv,
    markerPath: markerOf(venv),
    python: "/usr/bin/python3",
    checkout: "/srv/demo/blue",
    requirements: "requirements.txt",
    pipArgs: ["--no-index"],
    cacheDir: "/srv/demo/.cache",
    as: { uid: 999, gid: 999, home: "/srv/demo" },
    app: "demo",
  });

  it("creates and installs as the app user in sandboxes, writing only the venv and pip's cache", async () => {
    const run = fakeRunner();
    const venv = path.join(dir, "venv");
    await applyVenv(run, { create: true, install: true, python: IDENTITY, hash: "h" }, target(venv));
    const [create, pip] = run.calls;
    expect(create!.args).toEqual(["-I", "-m", "venv", "--clear", venv]);
    expect(create!.options).toMatchObject({ as: { uid: 999 }, sandbox: { writable: [venv] } });
    expect(pip!.file).toBe(`${venv}/bin/pip`);
    expect(pip!.args).toEqual([
      "install",
      "--disable-pip-version-check",
      "--no-input",
      "-r",
      "requirements.txt",
      "--no-index",
    ]);
    expect(pip!.options).toMatchObject({
      cwd: "/srv/demo/blue",
      sandbox: { unit: "rf-agent-demo-pip", writable: [venv, "/srv/demo/.cache"] },
    });
    expect(JSON.parse(await readFile(markerOf(venv), "utf8"))).toEqual({
      python: IDENTITY,
      requirementsHash: "h",
    });
  });

  it("leaves a marker without hash when pip fails, so the next run installs again", async () => {
    const run = fakeRunner((file) => {
      if (file.endsWith("/pip")) throw new Error("pip failed");
      return {};
    });
    const venv = path.join(dir, "venv");
    await expect(
      applyVenv(run, { create: false, install: true, python: IDENTITY, hash: "h" }, target(venv)),
    ).rejects.toThrow("pip failed");
    expect(JSON.parse(await readFile(markerOf(venv), "utf8"))).toEqual({
      python: IDENTITY,
      requirementsHash: null,
    });
  });
});

describe("requirementsProblem", () => {
  it("names the file and the fix for each way it can be missing", () => {
    expect(requirementsProblem("requirements.txt", "absent")).toMatchObject({
      code: "PIP",
      message: "the release has no requirements.txt",
    });
    expect(requirementsProblem("requirements.txt", "not a regular file").message).toMatch(
      /not a regular file/,
    );
    expect(requirementsProblem("requirements.txt", "too large").message).toMatch(/larger/);
  });
});
