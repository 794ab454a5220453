import { appendFile, readFile, stat } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  appendHistory,
  detectTrigger,
  historyPath,
  readHistory,
  type HistoryEntry,
} from "../../../src/adapters/history.js";
import { addSecret } from "../../../src/log.js";
import { tempDir } from "../helpers/fakes.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

const entry = (id: string): HistoryEntry => ({
  id,
  command: "deploy",
  trigger: "cli (ops)",
  startedAt: "2025-01-01T00:00:00.000Z",
  ms: 1234,
  from: null,
  to: { color: "blue", sha: "a".repeat(40) },
  outcome: "deployed",
  exitCode: 0,
  steps: [{ step: "fetch", ms: 10, ok: true }],
});

describe("history", () => {
  it("is empty before anything was recorded", async () => {
    expect(await readHistory(`${dir}/state`)).toEqual([]);
  });

  it("appends entries in order, one JSON line each, readable only by their owner", async () => {
    const stateDir = `${dir}/state/demo`;
    await appendHistory(stateDir, entry("1"));
    await appendHistory(stateDir, entry("2"));
    expect((await readHistory(stateDir)).map((e) => e.id)).toEqual(["1", "2"]);
    expect((await readHistory(stateDir))[0]).toEqual(entry("1"));
    expect((await stat(historyPath(stateDir))).mode & 0o777).toBe(0o600);
    expect((await stat(stateDir)).mode & 0o777).toBe(0o700);
  });

  it("skips a line a crash cut short", async () => {
    const stateDir = `${dir}/state`;
    await appendHistory(stateDir, entry("1"));
    await appendFile(historyPath(stateDir), '{"id":"2","comm');
    expect((await readHistory(stateDir)).map((e) => e.id)).toEqual(["1"]);
  });
});

describe("history and the app's secrets", () => {
  it("scrubs every registered env-file value from what it writes, error included", async () => {
    addSecret("history-planted-s3cret");
    const stateDir = `${dir}/state`;
    await appendHistory(stateDir, {
      ...entry("1"),
      outcome: "failed",
      exitCode: 1,
      trigger: "webhook history-planted-s3cret",
      error: 'pip failed: could not reach https://u:history-planted-s3cret@pypi/ ("history-planted-s3cret")',
    });
    const text = await readFile(historyPath(stateDir), "utf8");
    expect(text).not.toContain("history-planted-s3cret");
    const [read] = await readHistory(stateDir);
    expect(read?.error).toBe('pip failed: could not reach https://u:[redacted]@pypi/ ("[redacted]")');
    expect(read?.trigger).toBe("webhook [redacted]");
  });
});

describe("detectTrigger", () => {
  it.each([
    [{ RF_AGENT_TRIGGER: "timer", SUDO_USER: "ana" }, "timer"],
    [{ SUDO_USER: "ana", USER: "root" }, "cli (ana)"],
    [{ USER: "ops", SSH_CONNECTION: "203.0.113.9 51000 10.0.0.2 22" }, "cli (ops via ssh from 203.0.113.9)"],
    [{ LOGNAME: "deployer" }, "cli (deployer)"],
    [{}, "cli (unknown)"],
  ])("%j -> %s", (env, expected) => {
    expect(detectTrigger(env)).toBe(expected);
  });
});
