import { closeSync, fstatSync, openSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  addSecret,
  createLogger,
  isJournalStream,
  journalLine,
  prettyLine,
  redactSecrets,
  scrubDeep,
} from "../../src/log.js";
import { captureLogger, tempDir } from "./helpers/fakes.js";

describe("journalLine", () => {
  it.each([
    [60, "<2>"],
    [50, "<3>"],
    [40, "<4>"],
    [30, "<6>"],
    [20, "<7>"],
    [10, "<7>"],
  ])("gives pino level %i the journal priority %s", (level, prefix) => {
    const line = `{"level":${level},"time":1,"msg":"x"}\n`;
    expect(journalLine(line)).toBe(`${prefix}${line}`);
  });

  it("treats a line without a level as info", () => {
    expect(journalLine("plain text\n")).toBe("<6>plain text\n");
  });
});

describe("prettyLine", () => {
  const time = Date.UTC(2025, 0, 2, 13, 4, 5);

  it("prints time, message and the interesting fields, hiding the noise", () => {
    const line = JSON.stringify({
      level: 30,
      time,
      pid: 1,
      hostname: "h",
      app: "demo",
      deploy: "d1",
      msg: "✓ fetch (1.2 s)",
      step: "fetch",
      ms: 1200,
      to: { color: "blue" },
    });
    expect(prettyLine(line)).toBe('13:04:05 ✓ fetch (1.2 s)  step=fetch ms=1200 to={"color":"blue"}\n');
  });

  it.each([
    [40, "WARN "],
    [50, "ERROR "],
    [60, "FATAL "],
    [20, "debug "],
    [10, "trace "],
  ])("tags level %i as %j", (level, tag) => {
    expect(prettyLine(JSON.stringify({ level, time, msg: "m" }))).toBe(`13:04:05 ${tag}m\n`);
  });

  it("has no field part when there are no fields", () => {
    expect(prettyLine(JSON.stringify({ level: 30, time, msg: "hello" }))).toBe("13:04:05 hello\n");
  });

  it("passes a line that is not JSON through", () => {
    expect(prettyLine("not json\n")).toBe("not json\n");
  });
});

describe("createLogger", () => {
  it("writes JSON lines to the given stream, without pid and hostname", () => {
    const { log, records } = captureLogger("info");
    log.info({ color: "blue" }, "switched");
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ level: 30, msg: "switched", color: "blue" });
    expect(records[0]).not.toHaveProperty("pid");
    expect(records[0]).not.toHaveProperty("hostname");
  });

  it("honours the level", () => {
    const { log, records } = captureLogger("info");
    log.debug("hidden");
    log.warn("shown");
    expect(records.map((r) => r.msg)).toEqual(["shown"]);
  });

  it("redacts secrets, tokens, passwords and environments, at the top and one level down", () => {
    const lines: string[] = [];
    const log = createLogger({ level: "info", stream: { write: (l: string) => void lines.push(l) } });
    log.info(
      {
        secret: "s3cr3t",
        token: "tok-123",
        password: "hunter2",
        env: { DATABASE_URL: "postgres://u:p@h/db" },
        webhook: { token: "wh-456", url: "https://example.com/hook" },
        headers: { authorization: "Bearer abc.def" },
        color: "green",
      },
      "configured",
    );
    const rec = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(rec).toMatchObject({
      secret: "[redacted]",
      token: "[redacted]",
      password: "[redacted]",
      env: "[redacted]",
      webhook: { token: "[redacted]", url: "https://example.com/hook" },
      headers: { authorization: "[redacted]" },
      color: "green",
    });
    for (const value of ["s3cr3t", "tok-123", "hunter2", "postgres://", "wh-456", "abc.def"]) {
      expect(lines[0]).not.toContain(value);
    }
  });
});

describe("addSecret / redactSecrets", () => {
  it("scrubs a registered value from every line, also where JSON escaped it", () => {
    addSecret('pa"ss\\word-123');
    const lines: string[] = [];
    const log = createLogger({ level: "info", stream: { write: (l: string) => void lines.push(l) } });
    log.info({ output: 'hook said pa"ss\\word-123' }, "hook ran");
    expect(lines[0]).not.toContain("word-123");
    expect((JSON.parse(lines[0]!) as { output: string }).output).toBe("hook said [redacted]");
    expect(redactSecrets('x pa"ss\\word-123 y')).toBe("x [redacted] y");
  });

  it("ignores values too short to be secrets", () => {
    addSecret("abc");
    expect(redactSecrets("abc abcd")).toBe("abc abcd");
  });
});

describe("isJournalStream", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let fd: number;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    fd = openSync(path.join(dir, "stream"), "w");
  });
  afterEach(async () => {
    closeSync(fd);
    await cleanup();
  });

  it("is false without JOURNAL_STREAM", () => {
    expect(isJournalStream(fd, undefined)).toBe(false);
    expect(isJournalStream(fd, "")).toBe(false);
  });

  it("is true only when the fd is the device:inode systemd named", () => {
    const st = fstatSync(fd);
    expect(isJournalStream(fd, `${st.dev}:${st.ino}`)).toBe(true);
    expect(isJournalStream(fd, `${st.dev}:${st.ino + 1}`)).toBe(false);
    expect(isJournalStream(fd, "garbage")).toBe(false);
  });

  it("is false for a closed fd", () => {
    const st = fstatSync(fd);
    const other = openSync(path.join(dir, "other"), "w");
    closeSync(other);
    expect(isJournalStream(other, `${st.dev}:${st.ino}`)).toBe(false);
  });
});

describe("scrubbing registered values", () => {
  const lines: string[] = [];
  const log = createLogger({ level: "debug", stream: { write: (l: string) => void lines.push(l) } });

  it("scrubs values but never field names, so `logs --deploy` still finds its field", () => {
    addSecret("deploy");
    lines.length = 0;
    log.child({ deploy: "ab12cd34" }).info({ step: "deploy" }, "rf-agent deploy");
    const rec = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(rec).toMatchObject({ deploy: "ab12cd34", step: "[redacted]", msg: "rf-agent [redacted]" });
  });

  it("scrubs the longer of two overlapping values whole", () => {
    addSecret("planted-long");
    addSecret("planted-long-and-longer");
    expect(redactSecrets("x planted-long-and-longer y planted-long")).toBe("x [redacted] y [redacted]");
  });

  it("scrubs a hook's output line (hooks log each line through the logger)", () => {
    addSecret("hook-planted-s3cret");
    lines.length = 0;
    log.info({ hook: "pre_switch" }, "pre_switch: connecting with hook-planted-s3cret\u001b[31m");
    expect(lines.join("")).not.toContain("hook-planted-s3cret");
    expect((JSON.parse(lines[0]!) as { msg: string }).msg).toBe(
      "pre_switch: connecting with [redacted]\u001b[31m",
    );
  });

  it("scrubDeep scrubs strings in nested objects and arrays and leaves the rest", () => {
    addSecret("deep-planted-value");
    const value = { a: "x deep-planted-value", b: [1, "deep-planted-value", null], c: { d: true } };
    expect(scrubDeep(value)).toEqual({ a: "x [redacted]", b: [1, "[redacted]", null], c: { d: true } });
    expect(value.a).toBe("x deep-planted-value");
  });
});

describe("prettyLine on a terminal", () => {
  it("strips escape sequences and line breaks that JSON carried escaped", () => {
    const line = JSON.stringify({
      level: 30,
      time: 0,
      msg: "pre_switch: \u001b]0;owned\u0007hi\nforged",
      ref: "\u001b[2Jx",
    });
    expect(prettyLine(line)).toBe("00:00:00 pre_switch: hi forged  ref=x\n");
  });

  it("strips them from a line that is not JSON", () => {
    expect(prettyLine("plain \u001b[31mred\n")).toBe("plain red\n");
  });
});

describe("one key each", () => {
  it("writes a key a child logger binds again once, with the child's value", () => {
    const lines: string[] = [];
    const log = createLogger({ stream: { write: (l: string) => void lines.push(l) } });
    log.child({ color: "green" }).child({ color: "blue", step: "x" }).info("m");
    expect(lines[0]!.match(/"color"/g)).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ color: "blue", step: "x", msg: "m" });
  });
});
