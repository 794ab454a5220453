import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { execFile } from "node:child_process";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, resolveConfigPath } from "../../../src/config/load.js";
import { RfError } from "../../../src/errors.js";
import { MINIMAL, REPO } from "./helpers.js";

const execFileP = promisify(execFile);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "rf-agent-config-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function loadError(file: string): Promise<RfError> {
  const e: unknown = await loadConfig(file).catch((err: unknown) => err);
  expect(e).toBeInstanceOf(RfError);
  return e as RfError;
}

/** loadConfig(file) in a child running as uid/gid 65534, for the error it throws. */
async function loadErrorAsNobody(file: string): Promise<{ message: string; hint?: string }> {
  const loadUrl = pathToFileURL(path.resolve("src/config/load.ts")).href;
  const script = `import { loadConfig } from ${JSON.stringify(loadUrl)};
loadConfig(${JSON.stringify(file)}).then(
  () => console.log("{}"),
  (e) => console.log(JSON.stringify({ message: e.message, hint: e.hint })),
);`;
  const { stdout } = await execFileP(
    process.execPath,
    ["--import", "tsx", "--input-type=module", "-e", script],
    { uid: 65534, gid: 65534 },
  );
  return JSON.parse(stdout) as { message: string; hint?: string };
}

describe("loadConfig", () => {
  it("reads and validates a file, recording where it came from", async () => {
    const file = path.join(dir, "agent.ini");
    await writeFile(file, MINIMAL);
    const config = await loadConfig(file);
    expect(config.source).toBe(file);
    expect(config.app.repo).toBe(REPO);
  });

  it("names a missing file and how to fix it", async () => {
    const file = path.join(dir, "missing.ini");
    const e = await loadError(file);
    expect(e.code).toBe("CONFIG");
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe(`config file ${file} does not exist`);
    expect(e.hint).toContain("create it");
    expect(e.hint).toContain("--config PATH");
    expect(e.hint).toContain("RF_AGENT_CONFIG");
  });

  it("names a directory given as the config", async () => {
    const e = await loadError(dir);
    expect(e.code).toBe("CONFIG");
    expect(e.message).toBe(`config path ${dir} is a directory, not a file`);
  });

  it("names an unreadable file", async () => {
    const file = path.join(dir, "secret.ini");
    await writeFile(file, MINIMAL);
    await chmod(file, 0o000);
    // root reads any file, so as root the load runs in a child process as nobody.
    const e = process.getuid?.() === 0 ? await loadErrorAsNobody(file) : await loadError(file);
    expect(e.message).toBe(`config file ${file} is not readable by this user`);
    expect(e.hint).toContain("--config PATH");
  });

  it("reports problems against the file's path", async () => {
    const file = path.join(dir, "bad.ini");
    await writeFile(file, "[app]\n");
    const e = await loadError(file);
    expect(e.message).toMatch(new RegExp(`^config ${file} is invalid: \\[app\\] repo: required`));
    expect(e.hint).toContain(file);
  });
});

describe("resolveConfigPath", () => {
  it("prefers --config", () => {
    expect(resolveConfigPath("/a.ini", { RF_AGENT_CONFIG: "/b.ini" })).toBe("/a.ini");
  });

  it("falls back to RF_AGENT_CONFIG", () => {
    expect(resolveConfigPath(undefined, { RF_AGENT_CONFIG: "/b.ini" })).toBe("/b.ini");
  });

  it("falls back to /etc/rf-agent/agent.ini", () => {
    expect(resolveConfigPath(undefined, {})).toBe("/etc/rf-agent/agent.ini");
    expect(resolveConfigPath(undefined, { RF_AGENT_CONFIG: "" })).toBe("/etc/rf-agent/agent.ini");
  });
});
