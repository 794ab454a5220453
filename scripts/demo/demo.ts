// The demo scripts/demo.sh runs once the machine is ready: on a disposable server, deploy the example
// app, then deploy a new version and roll it back while load.mjs keeps traffic going, and show what
// the traffic saw. Exit 0 only when both commands succeeded and no request failed and no websocket
// session dropped; the server is taken down whatever happens (also on Ctrl-C).
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { writeAgentConfig } from "../lab/config.js";
import {
  hostProcess,
  isRunning,
  namespaceOf,
  pidsInNamespace,
  serverCgroupDirs,
  type HostProcess,
} from "../lab/host.js";
import { eachLine } from "../lab/lines.js";
import { startLoad, type Load, type LoadSummary } from "../lab/load.js";
import { isStepDone, logRecord, type LogRecord } from "../lab/log-records.js";
import { createOrigin, EXAMPLE_APP, pushVersion } from "../lab/origin.js";
import { AGENT_CONFIG, TestServer } from "../lab/server.js";

const SERVER_NAME = process.env.RF_DEMO_SERVER || "rf-demo";
const NEXT_VERSION = "1.0.1";
/** Through nginx: /api/* (FastAPI) and / + /_stcore/* (Streamlit), and websocket sessions to Streamlit. */
const LOAD = { rps: 20, sessions: 3, sessionMin: 2, sessionMax: 6 };
/** standby: the old color stays running 60 s after a deploy, so rolling back is a switch, not a start. */
const SWITCH = { standby: 60, watch: 3, grace: 2, drain: 15 };
const SETTLE_MS = 3000;

// ------------------------------------------------------------------ output
const useColor = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
const sgr = (code: string) => (s: string) => (useColor ? `\x1b[${code}m${s}\x1b[0m` : s);
const bold = sgr("1");
const dim = sgr("2");
const red = sgr("31");
const green = sgr("32");
const yellow = sgr("33");
const cyan = sgr("36");

function out(line = ""): void {
  process.stdout.write(line + "\n");
}

function clock(d = new Date()): string {
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
}

function secs(ms: number, digits = 1): string {
  return `${(ms / 1000).toFixed(digits)} s`;
}

class Interrupted extends Error {
  constructor() {
    super("interrupted");
  }
}

let interrupted = false;

/** Prints a step's headline; returns its start time for done(). */
function step(title: string): number {
  if (interrupted) throw new Interrupted();
  out(`[${clock()}] ${bold(`▶ ${title}`)}`);
  return performance.now();
}

function done(started: number, what = "done"): number {
  const ms = performance.now() - started;
  out(`  ${green("✓")} ${what} in ${secs(ms)}`);
  return ms;
}

function note(text: string): void {
  out(`  ${text}`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// rf-agent logs JSON lines (pino) to stderr when that is not a terminal: show each one's message,
// indented and dimmed, warnings and errors in color. Anything else (its error paragraph) as it is.
// Returns the record, if the line was one.
function agentLogLine(line: string): LogRecord | undefined {
  if (!line.trim()) return undefined;
  const rec = logRecord(line);
  if (!rec || typeof rec.msg !== "string") {
    out(`    ${line}`);
    return undefined;
  }
  const level = Number(rec.level ?? 30);
  const err = rec.err as { message?: unknown } | undefined;
  const detail = typeof err?.message === "string" && err.message !== rec.msg ? `: ${err.message}` : "";
  if (level >= 50) out(`    ${red(`│ ${rec.msg}${detail}`)}`);
  else if (level >= 40) out(`    ${yellow(`│ ${rec.msg}${detail}`)}`);
  else out(dim(`    │ ${rec.msg}`));
  return rec;
}

// ------------------------------------------------------------------ running things in the server
interface AgentRun {
  exitCode: number;
  ms: number;
  /** When it started and ended, by performance.now(). */
  start: number;
  end: number;
  /** The steps it logged as done ("✓ fetch (0.1 s)"), with their durations. */
  steps: { step: string; ms: number }[];
}

/** `rf-agent COMMAND --config /etc/rf-agent/agent.ini ARGS...` inside, its output shown as it comes. */
async function rfAgent(server: TestServer, command: string, args: string[] = []): Promise<AgentRun> {
  const start = performance.now();
  const run = server.spawn("rf-agent", [command, "--config", AGENT_CONFIG, ...args], {
    env: { RF_AGENT_TRIGGER: "npm run demo" },
  });
  const steps: AgentRun["steps"] = [];
  const shown = Promise.all([
    eachLine(run.stderr, (line) => {
      // After Ctrl-C, what a command says as it is killed is noise.
      if (interrupted) return;
      const rec = agentLogLine(line);
      if (rec && isStepDone(rec)) steps.push({ step: rec.step, ms: rec.ms });
    }),
    eachLine(run.stdout, (line) => out(`  ${line}`)),
  ]);
  const result = await run;
  await shown;
  if (interrupted) throw new Interrupted();
  const end = performance.now();
  return { exitCode: result.exitCode ?? 128, ms: end - start, start, end, steps };
}

function loadLogLine(line: string): void {
  const text = line.replace(/^load\.mjs /, "");
  if (/failure|dropped|internal error/.test(text)) out(`    ${red(`load │ ${text}`)}`);
  else if (/version .* -> /.test(text)) out(`    ${cyan(`load │ ${text}`)}`);
  else out(dim(`    load │ ${text}`));
}

// ------------------------------------------------------------------ the demo
let server: TestServer | undefined;
let serverInit: HostProcess | undefined;
let serverPidNs: string | undefined;

interface Timeline {
  /** performance.now() when load.mjs started counting (its first line), for its relative times. */
  loadStart: number;
  deploy?: AgentRun;
  rollback?: AgentRun;
}

async function demo(): Promise<number> {
  const firstVersion = readFileSync(path.join(EXAMPLE_APP, "VERSION"), "utf8").trim();

  let t = step(
    `booting a disposable server "${SERVER_NAME}" (this machine's systemd as PID 1 in new namespaces)`,
  );
  server = await TestServer.up(SERVER_NAME);
  serverInit = hostProcess(server.pid);
  serverPidNs = namespaceOf(server.pid, "pid");
  for (const line of server.bootLog.trim().split("\n").filter(Boolean)) out(dim(`    ${line}`));
  done(t, `systemd is up (host pid ${server.pid})`);

  t = step(`creating the app's git origin from examples/app (version ${firstVersion})`);
  const origin = await createOrigin(server);
  done(t, `${origin.bare}, branch ${origin.branch}`);

  t = step(`writing ${AGENT_CONFIG}`);
  await writeAgentConfig(server, { switch: SWITCH });
  note(
    dim(
      `[switch] standby = ${SWITCH.standby} (the old color stays up: an instant rollback), ` +
        `watch = ${SWITCH.watch}, grace = ${SWITCH.grace}, drain = ${SWITCH.drain}`,
    ),
  );
  done(t);

  t = step(`first deploy of ${firstVersion}: rf-agent deploy (creates the venv, pip-installs the app)`);
  const first = await rfAgent(server, "deploy");
  if (first.exitCode !== 0) {
    out(red(`  ✗ the first deploy failed (exit ${first.exitCode}): nothing to demonstrate`));
    return 1;
  }
  done(t);

  step("rf-agent status");
  const status = await rfAgent(server, "status");
  if (status.exitCode !== 0) out(yellow(`  (status exited ${status.exitCode})`));

  step("curl http://127.0.0.1/api/version (through the server's nginx)");
  const before = await server.curl("/api/version");
  note(before.status ? `HTTP ${before.status}  ${before.body}` : red(`no answer: ${before.error}`));

  step(
    `starting the load: ${LOAD.rps} req/s through nginx to both services (FastAPI /api/*, Streamlit /) ` +
      `+ ${LOAD.sessions} Streamlit websocket sessions`,
  );
  const timeline: Timeline = { loadStart: performance.now() };
  const load: Load = startLoad(server, LOAD);
  let firstLoadLine = true;
  const loadLines = eachLine(load.process.stderr, (line) => {
    if (firstLoadLine) timeline.loadStart = performance.now();
    firstLoadLine = false;
    loadLogLine(line);
  });
  await sleep(SETTLE_MS);

  t = step(`pushing version ${NEXT_VERSION} to the origin`);
  const sha = await pushVersion(server, origin, NEXT_VERSION);
  done(t, `commit ${sha.slice(0, 12)}`);

  step(`deploy ${NEXT_VERSION} under load: rf-agent deploy`);
  timeline.deploy = await rfAgent(server, "deploy");
  const deployOk = timeline.deploy.exitCode === 0;
  out(
    deployOk
      ? `  ${green("✓")} deploy done in ${secs(timeline.deploy.ms)}`
      : red(`  ✗ deploy exited ${timeline.deploy.exitCode} after ${secs(timeline.deploy.ms)}`),
  );

  if (deployOk) {
    step(`letting ${NEXT_VERSION} serve the load for ${secs(SETTLE_MS, 0)}`);
    await sleep(SETTLE_MS);

    step(`roll back to ${firstVersion} under load: rf-agent rollback`);
    timeline.rollback = await rfAgent(server, "rollback");
    out(
      timeline.rollback.exitCode === 0
        ? `  ${green("✓")} rollback done in ${secs(timeline.rollback.ms)}`
        : red(`  ✗ rollback exited ${timeline.rollback.exitCode} after ${secs(timeline.rollback.ms)}`),
    );

    step("curl http://127.0.0.1/api/version");
    const after = await server.curl("/api/version");
    note(after.status ? `HTTP ${after.status}  ${after.body}` : red(`no answer: ${after.error}`));
  } else {
    note(yellow("skipping the rollback: the deploy did not succeed"));
  }

  t = step(`stopping the load after ${secs(SETTLE_MS, 0)} more`);
  await sleep(SETTLE_MS);
  const summary = await load.stop();
  await loadLines;
  done(t);

  step("rf-agent history");
  await rfAgent(server, "history");

  return report(summary, timeline, first);
}

// ------------------------------------------------------------------ the summary
function report(s: LoadSummary, tl: Timeline, first: AgentRun): number {
  const rel = (at: number) => `+${((at - tl.loadStart) / 1000).toFixed(1)} s`;
  const at = (ms: number) => `+${(ms / 1000).toFixed(1)} s`;
  const row = (label: string, value: string) => out(`  ${label.padEnd(16)} ${value}`);

  out();
  out(bold(`──────────────── summary ────────────────`));
  row(
    "load",
    `${secs(s.durationMs)} of ${LOAD.rps} req/s through nginx + ${LOAD.sessions} websocket sessions ` +
      `(times below: since the load started)`,
  );
  row(
    "requests",
    `${s.requests.ok} served, ${s.requests.failed ? red(`${s.requests.failed} failed`) : "0 failed"}` +
      (s.requests.retried
        ? dim(` (${s.requests.retried} resent on a keep-alive socket closed under them)`)
        : ""),
  );
  out(
    dim(
      `  ${"".padEnd(16)} ` +
        Object.entries(s.requests.byPath)
          .map(([p, c]) => `${p} ${c.ok}${c.failed ? ` (${c.failed} failed)` : ""}`)
          .join(" · "),
    ),
  );
  if (s.failureWindows.length === 0) row("failure windows", "none");
  else {
    row("failure windows", red(`${s.failureWindows.length}`));
    for (const w of s.failureWindows)
      out(red(`  ${"".padEnd(16)} ${at(w.start)} → ${at(w.end)}: ${w.count} failed`));
    for (const f of s.failures.slice(0, 8))
      out(dim(`  ${"".padEnd(16)} ${at(f.t)} ${f.method} ${f.path} → ${f.status ?? f.error}`));
    const more = s.failures.length - 8 + s.failuresNotListed;
    if (more > 0) out(dim(`  ${"".padEnd(16)} … and ${more} more`));
  }
  row(
    "websockets",
    `${s.sessions.opened} sessions opened, ` +
      (s.sessions.dropped ? red(`${s.sessions.dropped} dropped`) : "0 dropped") +
      `, ${s.sessions.closedByClient} closed by the client as planned` +
      (s.sessions.openFailed ? red(`, ${s.sessions.openFailed} failed to open`) : ""),
  );
  for (const d of s.sessions.drops.slice(0, 5))
    out(red(`  ${"".padEnd(16)} ${at(d.t)} dropped after ${secs(d.openMs)}: code ${d.code} ${d.reason}`));
  row(
    "versions seen",
    Object.entries(s.versions)
      .map(([v, n]) => `${v} (${n} answers)`)
      .join(", ") || "none",
  );
  if (s.transitions.length === 0) row("transitions", "none");
  s.transitions.forEach((tr, i) => row(i === 0 ? "transitions" : "", `${at(tr.t)}  ${tr.from} → ${tr.to}`));
  const command = (label: string, run: AgentRun, when: string) => {
    row(label, `${secs(run.ms)} (exit ${run.exitCode}), ${when}`);
    const slow = run.steps.filter((st) => st.ms >= 50);
    if (slow.length)
      out(dim(`  ${"".padEnd(16)} ${slow.map((st) => `${st.step} ${secs(st.ms)}`).join(" · ")}`));
  };
  command("first deploy", first, "before the load");
  if (tl.deploy)
    command(`deploy ${NEXT_VERSION}`, tl.deploy, `ran ${rel(tl.deploy.start)} → ${rel(tl.deploy.end)}`);
  if (tl.rollback)
    command("rollback", tl.rollback, `ran ${rel(tl.rollback.start)} → ${rel(tl.rollback.end)}`);
  else row("rollback", "not run");

  const problems: string[] = [];
  if (!tl.deploy || tl.deploy.exitCode !== 0)
    problems.push(`the deploy exited ${tl.deploy?.exitCode ?? "-"}`);
  if (!tl.rollback) problems.push("no rollback");
  else if (tl.rollback.exitCode !== 0) problems.push(`the rollback exited ${tl.rollback.exitCode}`);
  if (s.sessions.dropped) problems.push(`${s.sessions.dropped} websocket sessions dropped`);
  if (s.internalErrors) problems.push(`${s.internalErrors} internal errors in the load generator`);
  if (s.requests.ok === 0 || s.sessions.opened === 0) problems.push("the load got no answers at all");

  out();
  if (s.requests.failed === 0 && problems.length === 0) {
    out(
      green(
        bold(
          `✔ ZERO failed requests and ZERO dropped websocket sessions out of ${s.requests.ok} requests ` +
            `and ${s.sessions.opened} sessions, across a deploy (${secs(tl.deploy?.ms ?? 0)}) and a rollback ` +
            `(${secs(tl.rollback?.ms ?? 0)})`,
        ),
      ),
    );
    return 0;
  }
  out(
    red(bold(`✘ ${s.requests.failed} failed requests${problems.length ? `; ${problems.join("; ")}` : ""}`)),
  );
  return 1;
}

// ------------------------------------------------------------------ teardown, always
let teardownPromise: Promise<void> | undefined;

function teardown(): Promise<void> {
  return (teardownPromise ??= (async () => {
    if (!server) return;
    out(`[${clock()}] ${bold(`▶ tearing down the server "${server.name}"`)}`);
    const started = performance.now();
    // Its PID 1 takes every process inside with it, load.mjs included.
    await server.down();
    const left: string[] = [];
    if (serverInit && isRunning(serverInit)) left.push(`its systemd (host pid ${serverInit.pid})`);
    if (serverPidNs) {
      const pids = pidsInNamespace(serverPidNs);
      if (pids.length) left.push(`processes ${pids.join(", ")}`);
    }
    left.push(...serverCgroupDirs(server.name));
    if (existsSync(server.stateDir)) left.push(server.stateDir);
    if (left.length) out(red(`  ✗ left behind: ${left.join(", ")}`));
    else done(started, "gone: no process, cgroup, mount or state left");
  })());
}

let exiting = false;
async function finish(code: number): Promise<never> {
  if (!exiting) {
    exiting = true;
    try {
      await teardown();
    } catch (e) {
      out(red(`demo: teardown failed: ${(e as Error).message}`));
      code = code || 1;
    }
    process.exit(code);
  }
  return new Promise<never>(() => undefined);
}

for (const [signal, code] of [
  ["SIGINT", 130],
  ["SIGTERM", 143],
  ["SIGHUP", 129],
] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    out();
    out(yellow(`[${clock()}] interrupted (${signal}): stopping`));
    void finish(code);
  });
}

demo().then(
  (code) => finish(code),
  (e: unknown) => {
    if (!(e instanceof Interrupted)) out(red(`demo: ${e instanceof Error ? e.message : String(e)}`));
    return finish(interrupted ? 130 : 1);
  },
);
