import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpGet, waitHealthy } from "../../../src/adapters/health.js";
import { ok, scriptedGet, status } from "../helpers/fakes.js";

const target = { name: "api", url: "http://127.0.0.1:8000/health" };
const fast = { successes: 3, intervalMs: 1, timeoutMs: 2000 };

describe("waitHealthy", () => {
  it("is healthy after `successes` 2xx answers in a row, asking no more", async () => {
    const get = scriptedGet([ok(), status(204), ok(), status(500)]);
    const r = await waitHealthy(get, target, fast);
    expect(r.ok).toBe(true);
    expect(get.calls).toHaveLength(3);
    expect(get.calls.every((c) => c.url === target.url)).toBe(true);
  });

  it("starts the streak again after a failure", async () => {
    const get = scriptedGet([ok(), ok(), status(502), ok(), ok(), status(0, "ECONNRESET"), ok(), ok(), ok()]);
    const r = await waitHealthy(get, target, fast);
    expect(r.ok).toBe(true);
    expect(get.calls).toHaveLength(9);
  });

  it("does not count redirects or client errors as healthy", async () => {
    const get = scriptedGet([status(301), status(404), status(199), ok()]);
    const r = await waitHealthy(get, target, { ...fast, successes: 1 });
    expect(r.ok).toBe(true);
    expect(get.calls).toHaveLength(4);
  });

  it("reports the time it took", async () => {
    const r = await waitHealthy(scriptedGet([ok()]), target, { ...fast, successes: 1 });
    expect(r).toEqual({ ok: true, ms: expect.any(Number) });
    if (r.ok) expect(r.ms).toBeGreaterThanOrEqual(0);
  });

  it("times out naming the last HTTP status", async () => {
    const get = scriptedGet([ok(), ok(), status(503)]);
    const started = Date.now();
    const r = await waitHealthy(get, target, { successes: 3, intervalMs: 5, timeoutMs: 150 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(r).toEqual({ ok: false, reason: "not healthy after 0 s (last: HTTP 503)" });
    expect(get.calls.length).toBeGreaterThan(3);
  });

  it("times out naming the connection error when there was no HTTP answer", async () => {
    const get = scriptedGet([status(0, "connect ECONNREFUSED 127.0.0.1:8000")]);
    const r = await waitHealthy(get, target, { successes: 1, intervalMs: 5, timeoutMs: 500 });
    expect(r).toEqual({
      ok: false,
      reason: "not healthy after 1 s (last: connect ECONNREFUSED 127.0.0.1:8000)",
    });
  });

  it("says so when nothing answered before the deadline", async () => {
    const get = scriptedGet([ok()]);
    const r = await waitHealthy(get, target, { successes: 1, intervalMs: 1, timeoutMs: 0 });
    expect(r).toEqual({ ok: false, reason: "not healthy after 0 s (last: no answer yet)" });
    expect(get.calls).toHaveLength(0);
  });

  it("ends at once when failFast gives a reason after a failed answer", async () => {
    const get = scriptedGet([ok(), status(0, "refused")]);
    let asked = 0;
    const r = await waitHealthy(get, target, {
      ...fast,
      timeoutMs: 60_000,
      failFast: async () => (++asked >= 2 ? "demo-api@blue.service exited at start" : null),
    });
    expect(r).toEqual({ ok: false, reason: "demo-api@blue.service exited at start" });
    // Asked only after failures: the first answer was a success.
    expect(get.calls).toHaveLength(3);
    expect(asked).toBe(2);
  });

  it("gives each request a timeout of 4 intervals, at least 1 s", async () => {
    const a = scriptedGet([ok()]);
    await waitHealthy(a, target, { successes: 1, intervalMs: 100, timeoutMs: 1000 });
    expect(a.calls[0]!.opts).toEqual({ timeoutMs: 1000 });
    const b = scriptedGet([ok()]);
    await waitHealthy(b, target, { successes: 1, intervalMs: 500, timeoutMs: 1000 });
    expect(b.calls[0]!.opts).toEqual({ timeoutMs: 2000 });
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
