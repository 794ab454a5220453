import { describe, expect, it } from "vitest";
import {
  colorFilter,
  DeployFilter,
  formatEntry,
  parseEntry,
  type Entry,
} from "../../../src/core/log-entries.js";

const T = Date.UTC(2025, 0, 2, 13, 4, 5);

/** A journalctl -o json line. */
function journal(message: string | number[], fields: Record<string, string> = {}, at = T): string {
  return JSON.stringify({
    __REALTIME_TIMESTAMP: String(at * 1000),
    MESSAGE: message,
    _SYSTEMD_UNIT: "rf-agent-demo-deploy@timer.service",
    PRIORITY: "6",
    _SYSTEMD_INVOCATION_ID: "inv1",
    ...fields,
  });
}

const pino = (rec: Record<string, unknown>) => JSON.stringify({ level: 30, time: T, msg: "m", ...rec });

function entry(message: string, fields: Record<string, string> = {}): Entry {
  return parseEntry(journal(message, fields))!;
}

describe("parseEntry", () => {
  it("reads an agent JSON line: deploy id, color, record", () => {
    const e = entry(pino({ deploy: "d1", color: "green", sha: "abc", msg: "✓ fetch (0.1 s)" }));
    expect(e).toMatchObject({
      time: T,
      unit: "rf-agent-demo-deploy@timer.service",
      priority: 6,
      invocation: "inv1",
      deploy: "d1",
      color: "green",
    });
    expect(e.record?.msg).toBe("✓ fetch (0.1 s)");
  });

  it("reads an entry rf-agent sent natively: readable MESSAGE, RF_DEPLOY, the record in RF_JSON", () => {
    const rec = pino({ deploy: "d2", color: "blue", step: "health", msg: "✓ health (2.0 s)" });
    const e = entry("✓ health (2.0 s)  color=blue step=health", {
      RF_DEPLOY: "d2",
      RF_COLOR: "blue",
      RF_JSON: rec,
    });
    expect(e).toMatchObject({ deploy: "d2", color: "blue" });
    expect(e.record?.step).toBe("health");
    expect(formatEntry(e)).toBe("13:04:05 ✓ health (2.0 s)  color=blue step=health");
  });

  it("reads an app unit's line with its RF_COLOR field", () => {
    const e = entry("INFO: Uvicorn running", { _SYSTEMD_UNIT: "demo-api@blue.service", RF_COLOR: "blue" });
    expect(e).toMatchObject({ unit: "demo-api@blue.service", color: "blue", deploy: null, record: null });
  });

  it("decodes a message journald kept as bytes", () => {
    expect(parseEntry(journal([104, 105, 0xff]))?.message).toBe("hi\ufffd");
  });

  it("skips what is not a journal entry", () => {
    expect(parseEntry("not json")).toBeNull();
    expect(parseEntry("{}")).toBeNull();
    expect(parseEntry("null")).toBeNull();
  });

  it("does not take any JSON message for a pino record", () => {
    expect(entry('{"a":1}').record).toBeNull();
    expect(entry("[1,2]").record).toBeNull();
  });
});

describe("DeployFilter", () => {
  const lines = [
    entry(pino({ deploy: "old", msg: "other run" }), { _SYSTEMD_INVOCATION_ID: "inv0" }),
    entry("plain line before the first JSON line", { _SYSTEMD_INVOCATION_ID: "inv1" }),
    entry(pino({ deploy: "d1", msg: "rf-agent deploy (timer)" }), { _SYSTEMD_INVOCATION_ID: "inv1" }),
    entry(pino({ deploy: "d1", msg: "✓ fetch" }), { _SYSTEMD_INVOCATION_ID: "inv1" }),
    entry("rf-agent: the green color never became healthy", {
      _SYSTEMD_INVOCATION_ID: "inv1",
      PRIORITY: "3",
    }),
    entry(pino({ deploy: "d2", msg: "next run" }), { _SYSTEMD_INVOCATION_ID: "inv2" }),
  ];

  it("selects every line of the unit runs that logged the id, plain ones included", () => {
    expect(new DeployFilter("d1").select(lines).map((e) => e.message.slice(0, 20))).toEqual([
      "plain line before th",
      lines[2]!.message.slice(0, 20),
      lines[3]!.message.slice(0, 20),
      "rf-agent: the green ",
    ]);
  });

  it("passes lines one at a time when following, from the first line with the id", () => {
    const f = new DeployFilter("d1");
    expect(lines.map((e) => f.pass(e))).toEqual([false, false, true, true, true, false]);
  });

  it("selects nothing for an unknown id", () => {
    expect(new DeployFilter("zz").select(lines)).toEqual([]);
  });
});

describe("colorFilter", () => {
  it("keeps lines of that color, from app units or agent lines", () => {
    const keep = colorFilter("green");
    expect(keep(entry("x", { RF_COLOR: "green" }))).toBe(true);
    expect(keep(entry(pino({ color: "green" })))).toBe(true);
    expect(keep(entry("x", { RF_COLOR: "blue" }))).toBe(false);
    expect(keep(entry("no color"))).toBe(false);
  });
});

describe("formatEntry", () => {
  it("prints an agent line readably, at the journal's time", () => {
    const e = entry(pino({ deploy: "d1", color: "green", step: "fetch", ms: 57, msg: "✓ fetch (0.1 s)" }));
    expect(formatEntry(e)).toBe("13:04:05 ✓ fetch (0.1 s)  color=green step=fetch ms=57");
  });

  it("tags plain warnings and errors by their priority", () => {
    expect(formatEntry(entry("rf-agent: it broke", { PRIORITY: "3" }))).toBe(
      "13:04:05 ERROR rf-agent: it broke",
    );
    expect(formatEntry(entry("careful", { PRIORITY: "4" }))).toBe("13:04:05 WARN careful");
    expect(formatEntry(entry("fine"))).toBe("13:04:05 fine");
  });

  it("names the unit when lines of several units mix", () => {
    const e = entry("INFO: started", { _SYSTEMD_UNIT: "demo-api@blue.service" });
    expect(formatEntry(e, { unit: true })).toBe("13:04:05 demo-api@blue  INFO: started");
  });

  it("strips the escape sequences and line breaks an app's line or an agent field carries", () => {
    const app = entry("\u001b[2J\u001b]0;owned\u0007GET /\rforged\u009b31m", {
      _SYSTEMD_UNIT: "demo-api@blue.service",
    });
    expect(formatEntry(app, { unit: true })).toBe("13:04:05 demo-api@blue  GET /forged");
    const agent = entry(pino({ msg: "webhook: delivery \u001b[1mx\ny", delivery: "\u001b[31mid" }));
    expect(formatEntry(agent)).toBe("13:04:05 webhook: delivery x y  delivery=id");
  });
});
