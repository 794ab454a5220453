import { describe, expect, it } from "vitest";
import { encodeNative, fieldName, journalFields, readableMessage } from "../../../src/core/journal-entry.js";

const REC = {
  level: 30,
  time: 1796188646813,
  pid: 42,
  hostname: "h",
  deploy: "3f9c2a1b",
  command: "deploy",
  color: "green",
  step: "health",
  ms: 2100,
  msg: "✓ health (2.1 s)",
};

describe("readableMessage", () => {
  it("is the message and the fields a person needs, without time, pid or deploy id", () => {
    expect(readableMessage(REC)).toBe("✓ health (2.1 s)  command=deploy color=green step=health ms=2100");
  });

  it("tags warnings and errors, and keeps escape sequences and line breaks out", () => {
    expect(readableMessage({ level: 40, msg: "careful\n\x1b[31mred" })).toBe("WARN careful red");
    expect(readableMessage({ level: 50, msg: "broke", detail: { a: 1 } })).toBe(
      'ERROR broke  detail={"a":1}',
    );
  });
});

describe("journalFields", () => {
  it("puts every field of the record into RF_ fields, once, with priority and identifier", () => {
    const fields = journalFields(REC);
    expect(fields.slice(0, 3)).toEqual([
      ["MESSAGE", readableMessage(REC)],
      ["PRIORITY", "6"],
      ["SYSLOG_IDENTIFIER", "rf-agent"],
    ]);
    const names = fields.map(([k]) => k);
    expect(names).toEqual([
      "MESSAGE",
      "PRIORITY",
      "SYSLOG_IDENTIFIER",
      "RF_DEPLOY",
      "RF_COMMAND",
      "RF_COLOR",
      "RF_STEP",
      "RF_MS",
      "RF_JSON",
    ]);
    expect(new Set(names).size).toBe(names.length);
    expect(Object.fromEntries(fields)).toMatchObject({
      RF_DEPLOY: "3f9c2a1b",
      RF_COLOR: "green",
      RF_MS: "2100",
    });
    expect(JSON.parse(Object.fromEntries(fields).RF_JSON!)).toEqual(REC);
  });

  it("maps error levels to syslog priorities", () => {
    expect(Object.fromEntries(journalFields({ level: 50, msg: "x" })).PRIORITY).toBe("3");
    expect(Object.fromEntries(journalFields({ level: 40, msg: "x" })).PRIORITY).toBe("4");
    expect(Object.fromEntries(journalFields({ level: 20, msg: "x" })).PRIORITY).toBe("7");
  });
});

describe("fieldName", () => {
  it("makes a valid journal field name of any key", () => {
    expect(fieldName("deploy")).toBe("RF_DEPLOY");
    expect(fieldName("openAtDeadline")).toBe("RF_OPEN_AT_DEADLINE");
    expect(fieldName("a-b.c")).toBe("RF_A_B_C");
    expect(fieldName("x".repeat(100))).toHaveLength(64);
  });
});

describe("encodeNative", () => {
  it("writes KEY=value lines, and a value with a line break with its length", () => {
    const out = encodeNative([
      ["MESSAGE", "hello"],
      ["RF_DETAILS", "a\nb"],
    ]);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(3n);
    expect(out).toEqual(
      Buffer.concat([Buffer.from("MESSAGE=hello\nRF_DETAILS\n"), len, Buffer.from("a\nb\n")]),
    );
  });
});
