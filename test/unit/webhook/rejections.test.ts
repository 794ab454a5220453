import { describe, expect, it } from "vitest";
import { RejectionLog } from "../../../src/webhook/rejections.js";
import { captureLogger } from "../helpers/fakes.js";

function harness(individually = 3) {
  const { log, records } = captureLogger();
  const timers: { fn: () => void; ms: number; cancelled: boolean }[] = [];
  let now = Date.parse("2025-01-02T03:04:05.000Z");
  const rejections = new RejectionLog({
    log,
    individually,
    intervalMs: 60_000,
    now: () => new Date(now),
    schedule: (fn, ms) => {
      const t = { fn, ms, cancelled: false };
      timers.push(t);
      return () => (t.cancelled = true);
    },
  });
  const elapse = (ms: number) => {
    now += ms;
    for (const t of timers.splice(0)) if (!t.cancelled) t.fn();
  };
  return { rejections, records, timers, elapse };
}

const refusal = (status: number | null, reason: string) => ({
  status,
  reason,
  fields: { path: "/hooks/demo", remote: "127.0.0.1" },
  msg: `POST /hooks/demo -> ${status}`,
});

describe("RejectionLog", () => {
  it("logs the first few one by one, then one summary per interval with counts by reason and status", () => {
    const h = harness(3);
    for (let i = 0; i < 4000; i++) h.rejections.note(refusal(401, "no signature"));
    for (let i = 0; i < 990; i++) h.rejections.note(refusal(413, "too large"));
    for (let i = 0; i < 10; i++) h.rejections.note(refusal(null, "headers timeout"));
    expect(h.records).toHaveLength(3);
    expect(h.records[0]).toMatchObject({
      level: 40,
      status: 401,
      reason: "no signature",
      path: "/hooks/demo",
    });
    expect(h.timers).toHaveLength(1);
    expect(h.timers[0]?.ms).toBe(60_000);
    h.elapse(60_000);
    expect(h.records).toHaveLength(4);
    expect(h.records[3]).toMatchObject({
      level: 40,
      rejected: 5000,
      notLogged: 4997,
      byReason: { "no signature": 4000, "too large": 990, "headers timeout": 10 },
      byStatus: { "401": 4000, "413": 990, none: 10 },
      since: "2025-01-02T03:04:05.000Z",
    });
  });

  it("writes no summary when every refusal had its own line", () => {
    const h = harness(3);
    h.rejections.note(refusal(404, "not found"));
    h.rejections.note(refusal(405, "method not allowed"));
    h.elapse(60_000);
    expect(h.records).toHaveLength(2);
  });

  it("starts a new interval after a summary, with its own first few lines", () => {
    const h = harness(2);
    for (let i = 0; i < 5; i++) h.rejections.note(refusal(401, "bad signature"));
    h.elapse(60_000);
    for (let i = 0; i < 5; i++) h.rejections.note(refusal(401, "bad signature"));
    expect(h.records).toHaveLength(5);
    h.rejections.flush();
    expect(h.records).toHaveLength(6);
    expect(h.records[5]).toMatchObject({ rejected: 5, notLogged: 3 });
    // flushing ends the interval and its timer
    expect(h.timers.every((t) => t.cancelled)).toBe(true);
  });
});
