import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpGet, waitHealthy, type Confirmation } from "../../../src/adapters/health.js";
import { ok, scriptedGet, status, type FakeGet } from "../helpers/fakes.js";

const target = { name: "api", url: "http://127.0.0.1:8000/health" };

/** A clock only the wait moves: each sleep adds its ms, each answer `latency` ms. */
function fakeClock(latency = 0) {
  let t = 1_000_000;
  return {
    now: () => t,
    sleep: async (ms: number) => void (t += ms),
    /** Wraps a fake get so each answer takes `latency` ms of this clock. */
    timed: (get: FakeGet): FakeGet => {
      const timed = (async (url: string, opts?: { host?: string; timeoutMs?: number }) => {
        t += latency;
        return get(url, opts);
      }) as FakeGet;
      timed.calls = get.calls;
      return timed;
    },
  };
}

/** The defaults: every 0.1 s, healthy for 0.5 s with at least 3 answers, 60 s to give up. */
function opts(over: Partial<Parameters<typeof waitHealthy>[2]> = {}) {
  const clock = fakeClock();
  return { successes: 3, stableMs: 500, intervalMs: 100, timeoutMs: 60_000, ...clock, ...over };
}

describe("waitHealthy", () => {
  it("passes once answers were 2xx for the stable window, not before, asking no more", async () => {
    // 2xx at 0, 100, ..., 500 ms: the 6th answer closes the 0.5 s window.
    const get = scriptedGet([ok(), status(204), ok(), ok(), ok(), ok(), status(500)]);
    const r = await waitHealthy(get, target, opts());
    expect(r).toEqual({ ok: true, ms: 500, firstHealthyMs: 0 });
    expect(get.calls).toHaveLength(6);
    expect(get.calls.every((c) => c.url === target.url)).toBe(true);
  });

  it("needs `successes` answers even when the window is shorter", async () => {
    const get = scriptedGet([ok()]);
    const r = await waitHealthy(get, target, opts({ stableMs: 0, successes: 3 }));
    expect(r).toEqual({ ok: true, ms: 200, firstHealthyMs: 0 });
    expect(get.calls).toHaveLength(3);
  });

  it("needs the window even when `successes` came sooner", async () => {
    const get = scriptedGet([ok()]);
    const r = await waitHealthy(get, target, opts({ stableMs: 1000, successes: 1, intervalMs: 250 }));
    expect(r).toEqual({ ok: true, ms: 1000, firstHealthyMs: 0 });
    expect(get.calls).toHaveLength(5);
  });

  it("passes on the first answer with stable = 0 and successes = 1", async () => {
    const r = await waitHealthy(scriptedGet([ok()]), target, opts({ stableMs: 0, successes: 1 }));
    expect(r).toEqual({ ok: true, ms: 0, firstHealthyMs: 0 });
  });

  it("starts the window again after any failure, and reports when the passing streak began", async () => {
    const get = scriptedGet([
      status(0, "ECONNREFUSED"),
      ok(),
      ok(),
      ok(),
      ok(),
      status(502),
      ok(),
      ok(),
      status(0, "timeout"),
      ok(),
    ]);
    const r = await waitHealthy(get, target, opts());
    // The streak that passed began with the 10th answer, at 900 ms, and lasted 500 ms.
    expect(r).toEqual({ ok: true, ms: 1400, firstHealthyMs: 900 });
    expect(get.calls).toHaveLength(15);
  });

  it("counts time from answer to answer, probes taking time included", async () => {
    const clock = fakeClock(40);
    const get = scriptedGet([ok()]);
    const r = await waitHealthy(clock.timed(get), target, opts({ now: clock.now, sleep: clock.sleep }));
    // Answers at 40, 180, 320, 460 ms; the window closes at 540, so the next is asked then (not at
    // 560) and answers at 580: 540 ms from the first to the last.
    expect(r).toEqual({ ok: true, ms: 580, firstHealthyMs: 40 });
    expect(get.calls).toHaveLength(5);
  });

  it("asks the answer that can close the window as the window closes, not at the next interval", async () => {
    const get = scriptedGet([ok()]);
    const r = await waitHealthy(get, target, opts({ stableMs: 450 }));
    // 2xx at 0, 100, 200, 300, 400, then at 450 rather than 500.
    expect(r).toEqual({ ok: true, ms: 450, firstHealthyMs: 0 });
    expect(get.calls).toHaveLength(6);
  });

  it("asks systemd alongside the answer that can pass, not after it", async () => {
    const events: string[] = [];
    const inner = scriptedGet([ok()]);
    const get = (async (url: string, o?: { host?: string; timeoutMs?: number }) => {
      events.push("ask");
      const a = await inner(url, o);
      await new Promise((res) => setTimeout(res, 5));
      events.push("answer");
      return a;
    }) as FakeGet;
    get.calls = inner.calls;
    const confirm = async (): Promise<Confirmation> => {
      events.push("confirm");
      return null;
    };
    const r = await waitHealthy(get, target, opts({ confirm }));
    expect(r).toEqual({ ok: true, ms: 500, firstHealthyMs: 0 });
    // systemd asked once, as the 6th answer was asked: before that answer came.
    expect(events.slice(-3)).toEqual(["confirm", "ask", "answer"]);
    expect(events.filter((e) => e === "confirm")).toHaveLength(1);
  });

  it("does not count redirects or client errors as healthy", async () => {
    const get = scriptedGet([status(301), status(404), status(199), ok()]);
    const r = await waitHealthy(get, target, opts({ stableMs: 0, successes: 1 }));
    expect(r).toEqual({ ok: true, ms: 300, firstHealthyMs: 300 });
    expect(get.calls).toHaveLength(4);
  });

  it("asks systemd only when the streak would pass, and starts over when it says so", async () => {
    const get = scriptedGet([ok()]);
    const verdicts: Confirmation[] = [{ reset: "demo-api@blue.service is activating" }, null];
    let asked = 0;
    const r = await waitHealthy(get, target, opts({ confirm: async () => verdicts[asked++] ?? null }));
    // Passed at 500 ms, told to start over; the next streak began at 600 ms and passed at 1100 ms.
    expect(r).toEqual({ ok: true, ms: 1100, firstHealthyMs: 600 });
    expect(asked).toBe(2);
    expect(get.calls).toHaveLength(12);
  });

  it("counts systemd's word for nothing when the answer asked alongside it failed", async () => {
    // The 6th answer (the one that could pass) fails: the verdict asked with it is not used, and the
    // next streak (600 ms to 1100 ms) is confirmed anew.
    const get = scriptedGet([ok(), ok(), ok(), ok(), ok(), status(503), ok(), ok(), ok(), ok(), ok(), ok()]);
    const verdicts: Confirmation[] = [{ fail: "demo-api@blue.service has exited" }, null];
    let asked = 0;
    const r = await waitHealthy(get, target, opts({ confirm: async () => verdicts[asked++] ?? null }));
    expect(r).toEqual({ ok: true, ms: 1100, firstHealthyMs: 600 });
    expect(asked).toBe(2);
  });

  it("names the reset in the timeout message when systemd never agrees", async () => {
    const r = await waitHealthy(
      scriptedGet([ok()]),
      target,
      opts({ timeoutMs: 3000, confirm: async () => ({ reset: "demo-api@blue.service is reloading" }) }),
    );
    expect(r).toEqual({
      ok: false,
      reason: "not healthy after 3 s (last: demo-api@blue.service is reloading)",
    });
  });

  it("fails at once when systemd says the process that answered restarted", async () => {
    const restarted = "demo-api@blue.service exited at start (status 1, 1 restarts, result exit-code)";
    const get = scriptedGet([ok()]);
    const r = await waitHealthy(get, target, opts({ confirm: async () => ({ fail: restarted }) }));
    expect(r).toEqual({ ok: false, reason: restarted });
    expect(get.calls).toHaveLength(6);
  });

  it("times out naming the last HTTP status", async () => {
    const get = scriptedGet([ok(), ok(), status(503)]);
    const r = await waitHealthy(get, target, opts({ timeoutMs: 2000 }));
    expect(r).toEqual({ ok: false, reason: "not healthy after 2 s (last: HTTP 503)" });
    expect(get.calls).toHaveLength(20);
  });

  it("times out naming the connection error when there was no HTTP answer", async () => {
    const get = scriptedGet([status(0, "connect ECONNREFUSED 127.0.0.1:8000")]);
    const r = await waitHealthy(get, target, opts({ timeoutMs: 500 }));
    expect(r).toEqual({
      ok: false,
      reason: "not healthy after 1 s (last: connect ECONNREFUSED 127.0.0.1:8000)",
    });
  });

  it("does not pass when the window would close after the deadline", async () => {
    const r = await waitHealthy(scriptedGet([ok()]), target, opts({ timeoutMs: 450 }));
    expect(r).toEqual({
      ok: false,
      reason: "not healthy after 0 s (last: 2xx for only 0.4 s, 5 answers (stable = 0.5 s, successes = 3))",
    });
  });

  it("says so when nothing answered before the deadline", async () => {
    const get = scriptedGet([ok()]);
    const r = await waitHealthy(get, target, opts({ timeoutMs: 0 }));
    expect(r).toEqual({ ok: false, reason: "not healthy after 0 s (last: no answer yet)" });
    expect(get.calls).toHaveLength(0);
  });

  it("ends at once when failFast gives a reason after a failed answer", async () => {
    const get = scriptedGet([ok(), status(0, "refused")]);
    let asked = 0;
    const r = await waitHealthy(get, target, {
      ...opts(),
      failFast: async () => (++asked >= 2 ? "demo-api@blue.service exited at start" : null),
    });
    expect(r).toEqual({ ok: false, reason: "demo-api@blue.service exited at start" });
    // Asked only after failures (the first answer was a success), and at most every 0.5 s:
    // after the failures at 100 and 600 ms.
    expect(asked).toBe(2);
    expect(get.calls).toHaveLength(7);
  });

  it("gives each request a timeout of 4 intervals, at least 1 s", async () => {
    const a = scriptedGet([ok()]);
    await waitHealthy(a, target, opts({ successes: 1, stableMs: 0, intervalMs: 100 }));
    expect(a.calls[0]!.opts).toEqual({ timeoutMs: 1000 });
    const b = scriptedGet([ok()]);
    await waitHealthy(b, target, opts({ successes: 1, stableMs: 0, intervalMs: 500 }));
    expect(b.calls[0]!.opts).toEqual({ timeoutMs: 2000 });
  });

  it("keeps the real clock by default", async () => {
    const started = Date.now();
    const r = await waitHealthy(scriptedGet([ok()]), target, {
      successes: 2,
      stableMs: 30,
      intervalMs: 10,
      timeoutMs: 2000,
    });
    expect(r.ok).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(30);
  });
});

describe("httpGet (against a local server)", () => {
  let server: Server;
  let base: string;
  const seen: { host?: string; connection?: string }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ host: req.headers.host, connection: req.headers.connection });
      if (req.url === "/big") res.end("x".repeat(5000));
      else if (req.url === "/down") {
        res.statusCode = 503;
        res.end("starting");
      } else res.end("ok");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("returns status and body, sending the Host asked for", async () => {
    expect(await httpGet(`${base}/health`, { host: "example.com" })).toEqual({ status: 200, body: "ok" });
    expect(seen.at(-1)?.host).toBe("example.com");
    expect(await httpGet(`${base}/down`)).toEqual({ status: 503, body: "starting" });
  });

  it("keeps at most 2000 characters of the body", async () => {
    const r = await httpGet(`${base}/big`);
    expect(r.body).toBe("x".repeat(2000));
  });

  it("answers status 0 with the error when nothing listens", async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const r = await httpGet(`http://127.0.0.1:${port}/health`, { timeoutMs: 1000 });
    expect(r.status).toBe(0);
    expect(r.body).toMatch(/ECONNREFUSED|connect/i);
  });
});
