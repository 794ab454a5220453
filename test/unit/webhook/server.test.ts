import type { AddressInfo } from "node:net";
import net from "node:net";
import type http from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import type { HookAnswer } from "../../../src/webhook/handler.js";
import { createListener, listen } from "../../../src/webhook/server.js";
import { captureLogger } from "../helpers/fakes.js";

let server: http.Server | undefined;
afterEach(async () => {
  await new Promise((r) => server?.close(r) ?? r(undefined));
  server = undefined;
});

async function start(
  handle: (headers: Record<string, unknown>, body: Buffer) => Promise<HookAnswer>,
  opts: { maxBodyBytes?: number; answerWithinMs?: number } = {},
) {
  const { log, records } = captureLogger();
  const calls: Buffer[] = [];
  server = createListener({
    app: "demo",
    log,
    handle: (headers, body) => {
      calls.push(body);
      return handle(headers, body);
    },
    ...opts,
  });
  await listen(server, "127.0.0.1", 0);
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, calls, records, port: (server.address() as AddressInfo).port };
}

const accept = () => Promise.resolve({ status: 202, body: { deploy: "requested" } });

describe("the listener", () => {
  it("answers /healthz and hands a hook's exact bytes to the handler", async () => {
    const s = await start(accept);
    expect((await fetch(`${s.base}/healthz`)).status).toBe(200);
    const body = Buffer.from('{"a": 1}  \n');
    const r = await fetch(`${s.base}/hooks/demo`, { method: "POST", body });
    expect(r.status).toBe(202);
    expect(await r.json()).toEqual({ deploy: "requested" });
    expect(s.calls).toEqual([body]);
  });

  it("answers 404 and 405 without calling the handler", async () => {
    const s = await start(accept);
    expect((await fetch(`${s.base}/hooks/other`, { method: "POST", body: "{}" })).status).toBe(404);
    const r = await fetch(`${s.base}/hooks/demo`);
    expect(r.status).toBe(405);
    expect(r.headers.get("allow")).toBe("POST");
    expect((await fetch(`${s.base}/nope`)).status).toBe(404);
    expect(s.calls).toEqual([]);
  });

  it("accepts a body of exactly the limit and refuses one byte more with 413", async () => {
    const s = await start(accept, { maxBodyBytes: 1000 });
    expect((await fetch(`${s.base}/hooks/demo`, { method: "POST", body: "x".repeat(1000) })).status).toBe(
      202,
    );
    expect((await fetch(`${s.base}/hooks/demo`, { method: "POST", body: "x".repeat(1001) })).status).toBe(
      413,
    );
    expect(s.calls).toHaveLength(1);
  });

  it("refuses an oversized chunked body (no Content-Length) and never hands it on", async () => {
    const s = await start(accept, { maxBodyBytes: 64 * 1024 });
    const chunks = async function* () {
      for (let i = 0; i < 40; i++) yield new Uint8Array(16 * 1024);
    };
    const r = await fetch(`${s.base}/hooks/demo`, {
      method: "POST",
      body: chunks() as unknown as RequestInit["body"],
      duplex: "half",
    } as RequestInit);
    expect(r.status).toBe(413);
    expect(s.calls).toEqual([]);
  });

  it("answers 413 at once from a too large Content-Length, before the body arrives", async () => {
    const s = await start(accept);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(s.port, "127.0.0.1", () => {
        socket.write("POST /hooks/demo HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n\r\n{");
      });
      let text = "";
      socket.on("data", (d) => (text += d.toString()));
      socket.on("close", () => resolve(text));
      socket.on("error", reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer.toLowerCase()).toContain("connection: close");
    expect(s.calls).toEqual([]);
  });

  it("refuses an oversized body announced with Expect: 100-continue before it is sent", async () => {
    const s = await start(accept);
    const exchange = (length: number, body: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = net.connect(s.port, "127.0.0.1", () => {
          socket.write(
            `POST /hooks/demo HTTP/1.1\r\nHost: x\r\nContent-Length: ${length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`,
          );
        });
        let text = "";
        socket.on("data", (d) => {
          text += d.toString();
          if (text.startsWith("HTTP/1.1 100")) {
            socket.write(body);
            text = "";
          }
        });
        socket.on("close", () => resolve(text));
        socket.on("error", reject);
      });
    expect(await exchange(50_000_000, "")).toMatch(/^HTTP\/1\.1 413 /);
    expect(await exchange(2, "{}")).toMatch(/^HTTP\/1\.1 202 /);
    expect(s.calls).toEqual([Buffer.from("{}")]);
  });

  it("answers 503 when the handler takes too long, and 500 when it throws", async () => {
    const slow = await start(() => new Promise(() => undefined), { answerWithinMs: 200 });
    const t0 = Date.now();
    expect((await fetch(`${slow.base}/hooks/demo`, { method: "POST", body: "{}" })).status).toBe(503);
    expect(Date.now() - t0).toBeLessThan(2000);
    await new Promise((r) => server?.close(r));
    const broken = await start(() => Promise.reject(new Error("boom")));
    expect((await fetch(`${broken.base}/hooks/demo`, { method: "POST", body: "{}" })).status).toBe(500);
  });

  it("logs one line per request, 401 at warn, without headers or body", async () => {
    const s = await start(() =>
      Promise.resolve({ status: 401, body: { error: "bad" }, note: { reason: "bad signature" } }),
    );
    await fetch(`${s.base}/hooks/demo`, {
      method: "POST",
      body: "top secret body",
      headers: { "x-hub-signature-256": "sha256=abc" },
    });
    const line = s.records.find((r) => r.status === 401);
    expect(line).toMatchObject({ level: 40, method: "POST", path: "/hooks/demo", reason: "bad signature" });
    expect(JSON.stringify(s.records)).not.toMatch(/top secret|sha256=abc/);
  });
});
