import type { AddressInfo } from "node:net";
import net from "node:net";
import type http from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { startHook, type Headers, type HookAnswer, type HookStart } from "../../../src/webhook/handler.js";
import { createListener, listen, type ListenerOptions } from "../../../src/webhook/server.js";
import { githubSignature } from "../../../src/webhook/signature.js";
import { captureLogger } from "../helpers/fakes.js";
import { harness, pushBody, SECRET } from "./helpers.js";

let server: http.Server | undefined;
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r) ?? r(undefined));
  server = undefined;
});

type Options = Partial<Omit<ListenerOptions, "app" | "log" | "start">>;

async function listening(start: (headers: Headers) => HookStart, opts: Options = {}) {
  const { log, records } = captureLogger();
  server = createListener({ app: "demo", log, start, ...opts });
  await listen(server, "127.0.0.1", 0);
  const port = (server.address() as AddressInfo).port;
  return { base: `http://127.0.0.1:${port}`, port, records };
}

/** A listener whose hook answers with `handle` once the whole body is in; bodies are recorded. */
async function start(handle: (headers: Headers, body: Buffer) => Promise<HookAnswer>, opts: Options = {}) {
  const calls: Buffer[] = [];
  const s = await listening(
    (headers) => ({
      kind: "body",
      update: () => undefined,
      finish: (body) => {
        calls.push(body);
        return handle(headers, body);
      },
    }),
    opts,
  );
  return { ...s, calls };
}

const accept = () => Promise.resolve({ status: 202, body: { deploy: "requested" } });
const SIGNED = { "x-hub-signature-256": `sha256=${"0".repeat(64)}` };

/** Raw exchange: writes `head`, then `then(socket)` may write more; resolves with all it read once closed. */
function raw(port: number, head: string, then?: (socket: net.Socket) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => {
      socket.write(head);
      then?.(socket);
    });
    sockets.push(socket);
    let text = "";
    socket.on("data", (d) => (text += d.toString()));
    socket.on("close", () => resolve(text));
    socket.on("error", (e: NodeJS.ErrnoException) => (e.code === "ECONNRESET" ? resolve(text) : reject(e)));
  });
}

describe("the listener", () => {
  it("answers /healthz and hands a hook's exact bytes to the handler", async () => {
    const s = await start(accept);
    expect((await fetch(`${s.base}/healthz`)).status).toBe(200);
    const body = Buffer.from('{"a": 1}  \n');
    const r = await fetch(`${s.base}/hooks/demo`, { method: "POST", body, headers: SIGNED });
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
    const post = (n: number) =>
      fetch(`${s.base}/hooks/demo`, { method: "POST", body: "x".repeat(n), headers: SIGNED });
    expect((await post(1000)).status).toBe(202);
    expect((await post(1001)).status).toBe(413);
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
      headers: SIGNED,
      duplex: "half",
    } as RequestInit);
    expect(r.status).toBe(413);
    expect(s.calls).toEqual([]);
  });

  it("answers 413 at once from a too large Content-Length, before the body arrives", async () => {
    const s = await start(accept);
    const answer = await raw(
      s.port,
      `POST /hooks/demo HTTP/1.1\r\nHost: x\r\nX-Hub-Signature-256: ${SIGNED["x-hub-signature-256"]}\r\nContent-Length: 50000000\r\n\r\n{`,
    );
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
            `POST /hooks/demo HTTP/1.1\r\nHost: x\r\nX-Hub-Signature-256: ${SIGNED["x-hub-signature-256"]}\r\nContent-Length: ${length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`,
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
    const post = (base: string) =>
      fetch(`${base}/hooks/demo`, { method: "POST", body: "{}", headers: SIGNED });
    expect((await post(slow.base)).status).toBe(503);
    await new Promise((r) => server?.close(r));
    const broken = await start(() => Promise.reject(new Error("boom")));
    expect((await post(broken.base)).status).toBe(500);
    expect(broken.records.find((r) => r.status === 500)).toMatchObject({ level: 50, reason: "boom" });
  });
});

describe("the listener, from the headers alone", () => {
  // Node's own timeouts far away: only the listener's refusal can end these exchanges in time.
  const patient = { headersTimeoutMs: 60_000, requestTimeoutMs: 120_000, idleTimeoutMs: 60_000 };

  async function github() {
    const h = await harness();
    let finished = 0;
    const s = await listening((headers) => {
      const st = startHook(h.deps, headers);
      if (st.kind === "answer") return st;
      return { ...st, finish: (body) => (finished++, st.finish(body)) };
    }, patient);
    return { ...s, h, finished: () => finished };
  }

  it("answers 401 to a hook without a signature header before any of its body is sent", async () => {
    const s = await github();
    // Headers announcing 1 MB and no body at all: the answer must come anyway, and the server
    // closes the connection without waiting for the body.
    const answer = await raw(
      s.port,
      "POST /hooks/demo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n",
    );
    expect(answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(answer.toLowerCase()).toContain("connection: close");
    expect(answer).toContain("missing X-Hub-Signature-256");
    expect(s.finished()).toBe(0);
    expect(s.h.requests).toEqual([]);
  });

  it("answers 401 to a malformed signature at once, and never sends 100 Continue for it", async () => {
    const s = await github();
    const answer = await raw(
      s.port,
      "POST /hooks/demo HTTP/1.1\r\nHost: x\r\nX-Hub-Signature-256: sha1=abc\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n",
    );
    expect(answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(answer).not.toContain("100 Continue");
    expect(s.finished()).toBe(0);
  });

  it("GitLab: a wrong token is refused before the body is read", async () => {
    const h = await harness({ provider: "gitlab" });
    const s = await listening((headers) => startHook(h.deps, headers), patient);
    const answer = await raw(
      s.port,
      "POST /hooks/demo HTTP/1.1\r\nHost: x\r\nX-Gitlab-Token: nope\r\nContent-Length: 1000000\r\n\r\n",
    );
    expect(answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(answer).toContain("X-Gitlab-Token does not match");
  });

  it("computes the HMAC as the body streams in, chunk by chunk, and deploys only when it matches", async () => {
    const h = await harness();
    const updates: number[] = [];
    const s = await listening((headers) => {
      const st = startHook(h.deps, headers);
      if (st.kind === "answer") return st;
      return { ...st, update: (chunk) => (updates.push(chunk.length), st.update(chunk)) };
    });
    const body = Buffer.from(pushBody());
    const send = (signature: string) =>
      raw(
        s.port,
        `POST /hooks/demo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nX-GitHub-Event: push\r\nX-Hub-Signature-256: ${signature}\r\nContent-Length: ${body.length}\r\n\r\n`,
        (socket) => {
          // Three pieces, each sent once the previous one was surely taken in.
          const pieces = [body.subarray(0, 10), body.subarray(10, 40), body.subarray(40)];
          const next = () => {
            const piece = pieces.shift();
            if (!piece) return;
            socket.write(piece);
            setTimeout(next, 50);
          };
          setTimeout(next, 50);
        },
      );
    const good = await send(githubSignature(SECRET, body));
    expect(good).toMatch(/^HTTP\/1\.1 202 /);
    expect(updates.length).toBeGreaterThanOrEqual(3);
    expect(updates.reduce((a, b) => a + b, 0)).toBe(body.length);
    expect(h.requests).toHaveLength(1);
    const forged = await send(githubSignature(Buffer.from("another secret entirely"), body));
    expect(forged).toMatch(/^HTTP\/1\.1 401 /);
    expect(h.requests).toHaveLength(1);
  });
});

describe("the listener's limits", () => {
  it("cuts a connection that sends its headers too slowly (slowloris) with 408", async () => {
    const s = await start(accept, { headersTimeoutMs: 300, requestTimeoutMs: 600, checkEveryMs: 50 });
    let dribbled = 0;
    const answer = await raw(s.port, "POST /hooks/demo HTTP/1.1\r\nHost: x\r\n", (socket) => {
      const timer = setInterval(() => {
        if (socket.destroyed || !socket.writable) return clearInterval(timer);
        socket.write(`X-Pad-${dribbled++}: y\r\n`);
      }, 50);
      socket.on("close", () => clearInterval(timer));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(s.calls).toEqual([]);
  });

  it("cuts a body that arrives too slowly with 408", async () => {
    const s = await start(accept, { headersTimeoutMs: 300, requestTimeoutMs: 600, checkEveryMs: 50 });
    const answer = await raw(
      s.port,
      `POST /hooks/demo HTTP/1.1\r\nHost: x\r\nX-Hub-Signature-256: ${SIGNED["x-hub-signature-256"]}\r\nContent-Length: 1000\r\n\r\n`,
      (socket) => {
        const timer = setInterval(() => (socket.writable ? socket.write("x") : clearInterval(timer)), 50);
        socket.on("close", () => clearInterval(timer));
      },
    );
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(s.calls).toEqual([]);
  });

  it("closes a connection that sends nothing", async () => {
    const s = await start(accept, { idleTimeoutMs: 200 });
    expect(await raw(s.port, "")).toBe("");
    expect(s.calls).toEqual([]);
  });

  it("refuses connections beyond the cap, and still serves once they are gone", async () => {
    const s = await start(accept, { maxConnections: 2 });
    const held = await Promise.all(
      [0, 1].map(
        () =>
          new Promise<net.Socket>((resolve) => {
            const socket = net.connect(s.port, "127.0.0.1", () => resolve(socket));
            sockets.push(socket);
          }),
      ),
    );
    // Node counts the held ones before it accepts the third.
    await new Promise((r) => setTimeout(r, 50));
    expect(await raw(s.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")).toBe("");
    for (const socket of held) socket.destroy();
    await new Promise((r) => setTimeout(r, 50));
    expect((await fetch(`${s.base}/healthz`)).status).toBe(200);
  });

  it("answers 503 once the bodies being received would exceed the memory budget", async () => {
    const s = await start(accept, { maxBufferedBytes: 1500 });
    const head = (n: number) =>
      `POST /hooks/demo HTTP/1.1\r\nHost: x\r\nX-Hub-Signature-256: ${SIGNED["x-hub-signature-256"]}\r\nContent-Length: ${n}\r\nConnection: close\r\n\r\n`;
    // The first holds 1000 bytes of budget while its body trickles in; the second asks for 1000 more.
    let first!: net.Socket;
    const holding = raw(s.port, head(1000), (socket) => (first = socket));
    await new Promise((r) => setTimeout(r, 100));
    const second = await raw(s.port, head(1000) + "x".repeat(1000));
    expect(second).toMatch(/^HTTP\/1\.1 503 /);
    expect(second.toLowerCase()).toContain("retry-after: 5");
    first.write("x".repeat(1000));
    expect(await holding).toMatch(/^HTTP\/1\.1 202 /);
    // the budget is given back: the same request now goes through
    expect(await raw(s.port, head(1000) + "x".repeat(1000))).toMatch(/^HTTP\/1\.1 202 /);
  });
});

describe("the listener's log", () => {
  it("logs refusals in aggregate: the first few one by one, then one summary with counts", async () => {
    let flush!: () => void;
    const h = await harness();
    const s = await listening((headers) => startHook(h.deps, headers), {
      rejections: {
        individually: 3,
        schedule: (fn) => {
          flush = fn;
          return () => undefined;
        },
      },
    });
    const post = async (path: string) =>
      (await fetch(`${s.base}${path}`, { method: "POST", body: "{}" })).status;
    for (let i = 0; i < 40; i++) expect(await post("/hooks/demo")).toBe(401);
    for (let i = 0; i < 10; i++) expect(await post("/nope")).toBe(404);
    const warnings = () => s.records.filter((r) => r.level === 40);
    expect(warnings()).toHaveLength(3);
    expect(warnings()[0]).toMatchObject({
      status: 401,
      method: "POST",
      path: "/hooks/demo",
      reason: "no signature",
    });
    flush();
    expect(warnings()).toHaveLength(4);
    expect(warnings()[3]).toMatchObject({
      rejected: 50,
      notLogged: 47,
      byReason: { "no signature": 40, "not found": 10 },
      byStatus: { "401": 40, "404": 10 },
    });
    expect(s.records).toHaveLength(4);
  });

  it("gives each accepted delivery its own line, and /healthz only at debug", async () => {
    const s = await start(accept);
    for (let i = 0; i < 8; i++)
      await fetch(`${s.base}/hooks/demo`, { method: "POST", body: `{"n":${i}}`, headers: SIGNED });
    await fetch(`${s.base}/healthz`);
    expect(s.records.filter((r) => r.level === 30 && r.status === 202)).toHaveLength(8);
    expect(s.records.find((r) => r.path === "/healthz")).toMatchObject({ level: 20, status: 200 });
  });

  it("never logs headers or body, and strips control characters from what it logs", async () => {
    const h = await harness();
    const s = await listening((headers) => startHook(h.deps, headers));
    await fetch(`${s.base}/hooks/demo`, {
      method: "POST",
      body: "top secret body",
      headers: { "x-hub-signature-256": `sha256=${"a".repeat(64)}` },
    });
    await fetch(`${s.base}/hooks/%1b%5b31mx\u202e`, { method: "POST", body: "{}" });
    const text = JSON.stringify(s.records);
    expect(s.records.find((r) => r.status === 401)).toMatchObject({ level: 40, reason: "bad signature" });
    expect(text).not.toMatch(/top secret|sha256=aaa/);
    expect(text).not.toMatch(/\\u001b|\\u202e/);
  });
});
