#!/usr/bin/env node
// Load generator for zero-downtime checks: steady HTTP traffic plus long-lived
// Streamlit websocket sessions against the app behind nginx, while deploys run.
//
//   node scripts/load.mjs --base http://127.0.0.1:80 [--duration SECONDS] [--rps 20]
//     [--connections N] [--sessions 3] [--session-min 2] [--session-max 6] [--out FILE]
//     [--samples FILE]
//
// --rps paces requests on a shared keep-alive pool (an open loop); --connections N adds N
// connections that each send their next request as soon as the last one is answered (a closed
// loop: as much load as the host can take). --samples writes every request's send time, latency
// and outcome, and every change of the open session count, when the load stops.
//
// Runs until --duration elapses (or forever without it) or SIGTERM/SIGINT, then
// stops sending, closes its sessions cleanly and prints ONE JSON summary on
// stdout (also written to --out). SIGUSR1 writes the current summary to stderr.
// Exit status: 0 after printing, 2 on bad arguments. All times are ms since start;
// a request's time is when it was sent.
import http from "node:http";
import https from "node:https";
import { writeFileSync } from "node:fs";
import { Buffer } from "node:buffer";
import WebSocket from "ws";

const USAGE =
  "usage: node scripts/load.mjs --base URL [--duration SECONDS] [--rps N] [--connections N] " +
  "[--sessions N] [--session-min SECONDS] [--session-max SECONDS] [--out FILE] [--samples FILE]";
const REQUEST_TIMEOUT_MS = 10_000;
const WINDOW_GAP_MS = 1000;
const MAX_LISTED_FAILURES = 5000;
const REOPEN_DELAY_MS = 500; // after a drop or a failed open, like a browser's reconnect
const CLOSE_TIMEOUT_MS = 5000;
const UA = "rf-agent-load/1";
// BackMsg{rerun_script: ClientState{}}: field 11, length-delimited, empty. The
// browser sends this right after connecting so the server runs the page script.
const RERUN_SCRIPT = Buffer.from([0x5a, 0x00]);

function badArgs(message) {
  process.stderr.write(`load.mjs: ${message} (--help for usage)\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = {
    base: null,
    duration: null,
    rps: 20,
    connections: 0,
    sessions: 3,
    sessionMin: 2,
    sessionMax: 6,
    out: null,
    samples: null,
  };
  const numeric = {
    "--duration": ["duration", (v) => v > 0],
    "--rps": ["rps", (v) => v >= 0 && v <= 10_000],
    "--connections": ["connections", (v) => Number.isInteger(v) && v >= 0 && v <= 256],
    "--sessions": ["sessions", (v) => Number.isInteger(v) && v >= 0 && v <= 1000],
    "--session-min": ["sessionMin", (v) => v >= 0],
    "--session-max": ["sessionMax", (v) => v >= 0],
  };
  for (let i = 0; i < argv.length; i++) {
    let flag = argv[i];
    let value;
    const eq = flag.indexOf("=");
    if (flag.startsWith("--") && eq > 0) {
      value = flag.slice(eq + 1);
      flag = flag.slice(0, eq);
    }
    if (flag === "-h" || flag === "--help") {
      process.stderr.write(`${USAGE}\n`);
      process.exit(0);
    }
    if (flag !== "--base" && flag !== "--out" && flag !== "--samples" && !(flag in numeric))
      badArgs(`unknown argument '${flag}'`);
    if (value === undefined) {
      if (i + 1 >= argv.length) badArgs(`${flag} needs a value`);
      value = argv[++i];
    }
    if (flag === "--base") opts.base = value;
    else if (flag === "--out" || flag === "--samples") {
      if (!value) badArgs(`${flag} needs a file name`);
      opts[flag.slice(2)] = value;
    } else {
      const [key, valid] = numeric[flag];
      const n = Number(value);
      if (value.trim() === "" || !Number.isFinite(n) || !valid(n))
        badArgs(`bad value for ${flag}: '${value}'`);
      opts[key] = n;
    }
  }
  if (!opts.base) badArgs("--base is required");
  let url;
  try {
    url = new URL(opts.base);
  } catch {
    badArgs(`--base is not a URL: '${opts.base}'`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") badArgs("--base must be http:// or https://");
  if (opts.sessionMin > opts.sessionMax) badArgs("--session-min is greater than --session-max");
  if (opts.rps === 0 && opts.connections === 0) badArgs("--rps 0 needs --connections");
  opts.baseUrl = url;
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const t0 = performance.now();
const since = () => Math.round(performance.now() - t0);
const log = (msg) => process.stderr.write(`load.mjs [${(since() / 1000).toFixed(1)}s] ${msg}\n`);

// ---------------------------------------------------------------- state
const stats = {
  requests: { sent: 0, ok: 0, failed: 0, retried: 0, byPath: {} },
  failures: [],
  failuresNotListed: 0,
  failureTimes: [],
  versions: {},
  transitions: [],
  lastVersion: null,
  sessions: { opened: 0, closedByClient: 0, dropped: 0, openFailed: 0, messages: 0, drops: [] },
};
// Every request's send time (ms since start), latency (0.1 ms) and outcome, for --samples: a
// million requests fit in a few MB, and percentiles of any window can be taken afterwards.
const samples = {
  n: 0,
  t: new Float64Array(1 << 16),
  us100: new Uint32Array(1 << 16),
  ok: new Uint8Array(1 << 16),
};
function sample(t, latencyMs, ok) {
  if (!opts.samples) return;
  if (samples.n === samples.t.length) {
    const grow = (a) => {
      const b = new a.constructor(a.length * 2);
      b.set(a);
      return b;
    };
    samples.t = grow(samples.t);
    samples.us100 = grow(samples.us100);
    samples.ok = grow(samples.ok);
  }
  samples.t[samples.n] = t;
  samples.us100[samples.n] = Math.round(latencyMs * 10);
  samples.ok[samples.n] = ok ? 1 : 0;
  samples.n++;
}
/** [t, open sessions] at every change */
const sessionCounts = [];
let openCount = 0;
function sessionsOpen(delta) {
  openCount += delta;
  sessionCounts.push([since(), openCount]);
}

let stopping = false;
let stoppedAt = null;
let internalErrors = 0;

function countPath(key, ok) {
  const entry = (stats.requests.byPath[key] ??= { ok: 0, failed: 0 });
  if (ok) entry.ok++;
  else entry.failed++;
}

function recordOk(key) {
  stats.requests.ok++;
  countPath(key, true);
}

function recordFailure(t, method, path, status, error) {
  stats.requests.failed++;
  countPath(`${method} ${path}`, false);
  stats.failureTimes.push(t);
  if (stats.failures.length < MAX_LISTED_FAILURES) {
    stats.failures.push({ t, method, path, status: status ?? null, error: error ?? null });
  } else {
    stats.failuresNotListed++;
  }
  const last = stats.failureTimes.length > 1 ? stats.failureTimes[stats.failureTimes.length - 2] : -Infinity;
  if (t - last >= WINDOW_GAP_MS) log(`failure: ${method} ${path} -> ${status ?? error}`);
}

function failureWindows() {
  const times = [...stats.failureTimes].sort((a, b) => a - b);
  const windows = [];
  for (const t of times) {
    const w = windows[windows.length - 1];
    if (w && t - w.end < WINDOW_GAP_MS) {
      w.end = t;
      w.count++;
    } else {
      windows.push({ start: t, end: t, count: 1 });
    }
  }
  return windows;
}

function summary() {
  return {
    durationMs: stoppedAt ?? since(),
    options: {
      base: opts.base,
      duration: opts.duration,
      rps: opts.rps,
      connections: opts.connections,
      sessions: opts.sessions,
      sessionMin: opts.sessionMin,
      sessionMax: opts.sessionMax,
    },
    requests: { ...stats.requests, inFlight: inFlight.size },
    failures: stats.failures,
    failuresNotListed: stats.failuresNotListed,
    failureWindows: failureWindows(),
    versions: stats.versions,
    transitions: stats.transitions,
    sessions: { ...stats.sessions, open: [...sessions].filter((s) => s.state === "open").length },
    internalErrors,
  };
}

// ---------------------------------------------------------------- HTTP
const base = opts.baseUrl;
const client = base.protocol === "https:" ? https : http;
const agent = new client.Agent({ keepAlive: true });
const inFlight = new Set();

const ENDPOINTS = [
  { method: "GET", path: "/api/version", check: checkVersion },
  { method: "GET", path: "/api/items" },
  { method: "POST", path: "/api/echo", body: (seq) => JSON.stringify({ seq, hello: "rf-agent" }) },
  { method: "GET", path: "/" },
  { method: "GET", path: "/_stcore/health" },
];

function checkVersion(body, t) {
  let data;
  try {
    data = JSON.parse(body);
  } catch {
    return "bad-json";
  }
  if (typeof data?.version !== "string") return "no-version";
  const key = `${data.version}/${data.color ?? "unknown"}`;
  stats.versions[key] = (stats.versions[key] ?? 0) + 1;
  if (stats.lastVersion !== null && stats.lastVersion !== key) {
    stats.transitions.push({ t, from: stats.lastVersion, to: key });
    log(`version ${stats.lastVersion} -> ${key}`);
  }
  stats.lastVersion = key;
  return null;
}

// One attempt. Resolves {status, body} or rejects with an error; err.retryable is
// set when a reused keep-alive socket failed before any answer arrived (the server
// closed it as we sent), the one case browsers silently resend. `fresh` sends on a
// new connection: the resend does so, since when nginx's old workers quit after a
// reload they close every idle keep-alive connection at once, and the next pooled
// socket is as likely to be dying as the first (seen: three tries in a row).
function attempt(method, url, payload, deadline, fresh = false, pool = agent) {
  return new Promise((resolve, reject) => {
    const headers = { "user-agent": UA, accept: "*/*" };
    if (payload !== undefined) {
      headers["content-type"] = "application/json";
      headers["content-length"] = Buffer.byteLength(payload);
    }
    const req = client.request(url, { method, agent: fresh ? false : pool, headers });
    let answered = false;
    const timer = setTimeout(
      () => {
        const err = new Error("timeout");
        err.code = "ETIMEDOUT";
        req.destroy(err);
      },
      Math.max(0, deadline - performance.now()),
    );
    req.on("response", (res) => {
      answered = true;
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString("utf8") });
      });
      res.on("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    req.on("error", (err) => {
      clearTimeout(timer);
      err.retryable = !answered && req.reusedSocket && err.code !== "ETIMEDOUT";
      err.reusedSocket = req.reusedSocket;
      err.answered = answered;
      reject(err);
    });
    req.end(payload);
  });
}

async function send(endpoint, seq, pool = agent) {
  const t = since();
  const sent = performance.now();
  const done = (ok) => sample(t, performance.now() - sent, ok);
  const key = `${endpoint.method} ${endpoint.path}`;
  const url = new URL(endpoint.path, base);
  const payload = endpoint.body?.(seq);
  const deadline = performance.now() + REQUEST_TIMEOUT_MS;
  stats.requests.sent++;
  for (let tries = 1; ; tries++) {
    try {
      const { status, body } = await attempt(endpoint.method, url, payload, deadline, tries > 1, pool);
      if (status < 200 || status > 299) {
        done(false);
        return recordFailure(t, endpoint.method, endpoint.path, status);
      }
      const problem = endpoint.check?.(body, t);
      done(!problem);
      if (problem) return recordFailure(t, endpoint.method, endpoint.path, status, problem);
      return recordOk(key);
    } catch (err) {
      if (err.retryable && tries < 3) {
        stats.requests.retried++;
        continue;
      }
      const what = err.code || err.message || String(err);
      // how it failed, for telling a dying keep-alive pool from a fresh connection cut
      const detail = `${what} (try ${tries}, ${err.reusedSocket ? "reused" : "fresh"} socket, ${err.answered ? "after" : "before"} the answer)`;
      done(false);
      return recordFailure(t, endpoint.method, endpoint.path, null, detail);
    }
  }
}

let seq = 0;
let httpTimer = null;
function scheduleHttp() {
  if (stopping || opts.rps === 0) return;
  const interval = 1000 / opts.rps;
  const due = seq * interval;
  httpTimer = setTimeout(
    () => {
      const n = seq++;
      const p = send(ENDPOINTS[n % ENDPOINTS.length], n).catch(internalError);
      inFlight.add(p);
      p.finally(() => inFlight.delete(p));
      scheduleHttp();
    },
    Math.max(0, due - (performance.now() - t0)),
  );
}

// A connection of the closed loop: its own keep-alive socket, the next request when the last is answered.
async function connection(i) {
  const pool = new client.Agent({ keepAlive: true, maxSockets: 1 });
  for (let n = i; !stopping; n += opts.connections) {
    const p = send(ENDPOINTS[n % ENDPOINTS.length], n, pool).catch(internalError);
    inFlight.add(p);
    await p;
    inFlight.delete(p);
  }
  pool.destroy();
}

// ---------------------------------------------------------------- websocket sessions
const wsUrl = new URL("/_stcore/stream", base);
wsUrl.protocol = base.protocol === "https:" ? "wss:" : "ws:";
const WS_PATH = "/_stcore/stream";
const sessions = new Set();

function openSession() {
  if (stopping) return;
  const t = since();
  stats.requests.sent++;
  const s = { state: "connecting", openedAt: null, holdTimer: null, closeTimer: null, error: null };
  sessions.add(s);
  // Like the browser: subprotocol "streamlit" (its second entry would be an XSRF
  // token, which only matters for auth cookies) and a same-origin Origin header.
  const ws = new WebSocket(wsUrl, ["streamlit"], {
    headers: { Origin: base.origin, "User-Agent": UA },
    handshakeTimeout: REQUEST_TIMEOUT_MS,
  });
  s.ws = ws;
  ws.on("open", () => {
    if (s.state !== "connecting") return;
    s.state = "open";
    s.openedAt = since();
    stats.sessions.opened++;
    sessionsOpen(1);
    recordOk(`GET ${WS_PATH}`);
    ws.send(RERUN_SCRIPT);
    const hold = (opts.sessionMin + Math.random() * (opts.sessionMax - opts.sessionMin)) * 1000;
    s.holdTimer = setTimeout(() => closeSession(s), hold);
  });
  ws.on("message", () => stats.sessions.messages++);
  ws.on("error", (err) => {
    if (s.state === "connecting") {
      s.state = "failed";
      if (stopping) return;
      stats.sessions.openFailed++;
      const m = /Unexpected server response: (\d+)/.exec(err.message);
      if (m) recordFailure(t, "GET", WS_PATH, Number(m[1]));
      else recordFailure(t, "GET", WS_PATH, null, err.code || err.message);
    } else {
      s.error = err.code || err.message;
    }
  });
  ws.on("close", (code, reasonBuf) => {
    clearTimeout(s.holdTimer);
    clearTimeout(s.closeTimer);
    const was = s.state;
    s.state = "closed";
    if (was === "open" || was === "closing") sessionsOpen(-1);
    sessions.delete(s);
    if (was === "open") {
      const drop = { t: since(), code, reason: reasonBuf.toString(), openMs: since() - s.openedAt };
      if (s.error) drop.error = s.error;
      stats.sessions.dropped++;
      stats.sessions.drops.push(drop);
      log(`session dropped after ${drop.openMs} ms: code ${code} ${drop.reason} ${s.error ?? ""}`);
    } else if (was === "closing") {
      stats.sessions.closedByClient++;
    }
    s.done?.();
    if (!stopping) setTimeout(openSession, was === "closing" ? 0 : REOPEN_DELAY_MS);
  });
}

function closeSession(s) {
  if (s.state !== "open") return;
  s.state = "closing";
  s.ws.close(1000, "client done");
  s.closeTimer = setTimeout(() => s.ws.terminate(), CLOSE_TIMEOUT_MS);
}

// ---------------------------------------------------------------- lifecycle
function internalError(err) {
  internalErrors++;
  process.stderr.write(`load.mjs: internal error: ${err?.stack ?? err}\n`);
}
process.on("uncaughtException", internalError);
process.on("unhandledRejection", internalError);

let finishing = false;
function output(force) {
  if (finishing) return;
  finishing = true;
  const result = summary();
  const text = JSON.stringify(result);
  if (opts.samples) {
    const n = samples.n;
    const data = {
      t: Array.from(samples.t.subarray(0, n)),
      latency100us: Array.from(samples.us100.subarray(0, n)),
      ok: Array.from(samples.ok.subarray(0, n)),
      sessions: sessionCounts,
    };
    try {
      writeFileSync(opts.samples, JSON.stringify(data));
    } catch (err) {
      process.stderr.write(`load.mjs: cannot write ${opts.samples}: ${err.message}\n`);
    }
  }
  if (opts.out) {
    try {
      writeFileSync(opts.out, JSON.stringify(result, null, 2) + "\n");
    } catch (err) {
      process.stderr.write(`load.mjs: cannot write ${opts.out}: ${err.message}\n`);
    }
  }
  log(
    `${force ? "forced stop; " : ""}sent ${result.requests.sent}, failed ${result.requests.failed}, ` +
      `sessions opened ${result.sessions.opened}, dropped ${result.sessions.dropped}`,
  );
  process.stdout.write(text + "\n", () => process.exit(0));
}

async function stop(why) {
  if (stopping) return output(true); // second signal: don't wait any longer
  stopping = true;
  stoppedAt = since();
  log(`stopping (${why})`);
  clearTimeout(httpTimer);
  clearTimeout(durationTimer);
  const waits = [];
  for (const s of [...sessions]) {
    if (s.state === "connecting") {
      s.state = "aborted";
      stats.requests.sent--; // never completed; don't count it either way
      s.ws.terminate();
    } else if (s.state === "open" || s.state === "closing") {
      waits.push(new Promise((resolve) => (s.done = resolve)));
      closeSession(s);
    }
  }
  // In-flight HTTP requests finish or hit their own 10 s timeout.
  await Promise.all([...waits, ...inFlight]);
  agent.destroy();
  output(false);
}

process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGINT", () => stop("SIGINT"));
process.on("SIGUSR1", () => process.stderr.write(JSON.stringify(summary()) + "\n"));

const durationTimer = opts.duration ? setTimeout(() => stop("duration"), opts.duration * 1000) : null;
log(
  `base ${base.origin}, ${opts.rps} req/s, ${opts.connections} back-to-back connections, ${opts.sessions} sessions of ${opts.sessionMin}-${opts.sessionMax} s` +
    (opts.duration ? `, ${opts.duration} s` : ", until SIGTERM/SIGINT"),
);
scheduleHttp();
for (let i = 0; i < opts.connections; i++) void connection(i);
for (let i = 0; i < opts.sessions; i++) openSession();
