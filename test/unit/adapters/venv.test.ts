import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { planVenv, pythonIdentity, requirementsHash, requirementsText } from "../../../src/adapters/venv.js";
import { fakeRunner, tempDir } from "../helpers/fakes.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

const IDENTITY = "3.11.2 /usr/bin/python3.11";
const python = () => fakeRunner(() => ({ stdout: `${IDENTITY}\n` }));

async function makeVenv(venv: string, marker: object | null): Promise<void> {
  await mkdir(venv, { recursive: true });
  await writeFile(path.join(venv, "pyvenv.cfg"), "home = /usr/bin\n");
  if (marker) await writeFile(path.join(venv, ".rf-agent-install.json"), JSON.stringify(marker));
}

describe("pythonIdentity", () => {
  it("asks the interpreter its version and path", async () => {
    const run = python();
    expect(await pythonIdentity(run, "/usr/bin/python3")).toBe(IDENTITY);
    expect(run.calls[0]!.file).toBe("/usr/bin/python3");
    expect(run.calls[0]!.options?.code).toBe("VENV");
  });
});

describe("planVenv", () => {
  const reqs = "fastapi==0.115.0\n";

  it("creates and installs when there is no venv", async () => {
    const plan = await planVenv(IDENTITY, path.join(dir, "venv"), reqs, []);
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
    const plan = await planVenv(IDENTITY, venv, reqs, []);
    expect(plan).toMatchObject({ create: false, install: false });
  });

  it("installs again when requirements or pip args change", async () => {
    const venv = path.join(dir, "venv");
    await makeVenv(venv, { python: IDENTITY, requirementsHash: requirementsHash(reqs, IDENTITY, []) });
    expect(await planVenv(IDENTITY, venv, reqs + "uvicorn\n", [])).toMatchObject({
      create: false,
      install: true,
    });
    expect(await planVenv(IDENTITY, venv, reqs, ["--index-url", "x"])).toMatchObject({
      create: false,
      install: true,
    });
  });

  it("installs again after a run killed during pip (marker without hash)", async () => {
    const venv = path.join(dir, "venv");
    await makeVenv(venv, { python: IDENTITY, requirementsHash: null });
    expect(await planVenv(IDENTITY, venv, reqs, [])).toMatchObject({
      create: false,
      install: true,
    });
  });

  it("recreates when the python changed or the venv is damaged", async () => {
    const venv = path.join(dir, "venv");
    await makeVenv(venv, { python: "3.9.2 /usr/bin/python3.9", requirementsHash: "x" });
    expect(await planVenv(IDENTITY, venv, reqs, [])).toMatchObject({
      create: true,
      install: true,
    });
    const broken = path.join(dir, "broken");
    await mkdir(broken);
    await writeFile(path.join(broken, ".rf-agent-install.json"), "{oops");
    expect(await planVenv(IDENTITY, broken, reqs, [])).toMatchObject({ create: true });
  });
});

describe("requirementsText", () => {
  it("reads the requirements of a checkout, or fails as PIP", async () => {
    await writeFile(path.join(dir, "requirements.txt"), "streamlit\n");
    expect(await requirementsText(dir, "requirements.txt")).toBe("streamlit\n");
    await expect(requirementsText(dir, "reqs/prod.txt")).rejects.toMatchObject({
      code: "PIP",
      message: "the release has no reqs/prod.txt",
    });
    expect(await readFile(path.join(dir, "requirements.txt"), "utf8")).toBe("streamlit\n");
  });
});
