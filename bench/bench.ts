// npm run bench [-- --runs N] [-- --out FILE]
//
// Measures rf-agent's deploys and rollbacks against the "naive" way (git pull + systemctl restart) on
// one disposable server (scripts/server.sh) with the example app, under the same load (scripts/load.mjs)
// for the whole measured run, and checks rf-agent's targets. Every number is measured here; see METHOD
// (also written into the JSON) for what each one is and where it comes from.
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { execa } from "execa";
import { baseConfig, writeAgentConfig } from "../scripts/lab/config.js";
import { startLoad, type Load, type LoadOptions, type LoadSummary } from "../scripts/lab/load.js";
import { createOrigin, pushVersion } from "../scripts/lab/origin.js";
import { REPO_ROOT, SERVER_SH, TestServer, type InnerProcess } from "../scripts/lab/server.js";
import { fmtMs, fmtRatio, failureWindows, mean, renderTable, type FailureWindow } from "./report.js";

// ------------------------------------------------------------------------------------------ settings
/** [switch] of agent.ini: standby 120 s so every rollback finds the old color still warm. */
const SWITCH = { grace: 2, drain: 15, standby: 120, watch: 3 } as const;
/** Steady load for the whole measured run: HTTP to both services + Streamlit websocket sessions. */
const LOAD: LoadOptions = { rps: 20, sessions: 4, sessionMin: 2, sessionMax: 6 };
const POLL_MS = 50;
/** Quiet time after an operation is done and serving before the next one starts. */
const SETTLE_MS = 2000;
const WARMUP_MS = 5000;
const READY_TIMEOUT_MS = 180_000;
const ROLLBACK_TARGET_MS = 1000;
const DEPLOY_OVERHEAD_TARGET_MS = 1500;
const TRIGGER = { RF_AGENT_TRIGGER: "bench" };
/** Deployed to the other color (and rolled back) before the measured runs, so it has its venv. */
const PREP_VERSION = "1.1.0";

const NAIVE = {
  user: "naive",
  home: "/srv/naive",
  app: "/srv/naive/app",
  venv: "/srv/naive/venv",
  units: ["naive-api.service", "naive-web.service"],
  site: "/etc/nginx/sites-available/naive.conf",
  siteLink: "/etc/nginx/sites-enabled/naive.conf",
};

const METHOD = [
  "One disposable server (scripts/server.sh) runs everything; the bench drives it from the host.",
  `Before the load starts (not measured, but timed): the first deploy (blue: venv + pip), then a deploy of ${PREP_VERSION} to green (its venv + pip) and a rollback, so every measured deploy is code-only for rf-agent too.`,
  "Load: scripts/load.mjs via scripts/lab startLoad, started after that and stopped after the last naive operation, so it runs through every measured operation of both phases.",
  "Load timestamps (ms since load start) are put on the wall clock by SIGUSR1 snapshots (the load prints its summary with durationMs) and the arrival of its first log line; the tightest bracket's middle is used and its half width reported as alignmentUncertaintyMs.",
  `Each operation's window runs from a load snapshot taken just before its command starts to one taken once it is done, the poller sees the expected version and a healthy UI, and ${SETTLE_MS} ms more have passed. What lies between windows (pushing the next version), the warmup, the rf-agent -> naive changeover and the tail are reported as separate buckets, so every request the load sent is counted exactly once.`,
  "rf-agent runs from a private copy of its build (dist/, units/, nginx/, package.json) taken when the bench starts, so another rebuild of dist/ during the bench cannot change it mid-run.",
  "Requests sent/failed per window: differences of the load's cumulative counters at the window's snapshots; failures, failure windows (gaps < 1 s join) and websocket drops by their load timestamps. A websocket session closed by the server while open is a drop.",
  `Time to new version: a poller inside the server (bench/poller.ts) GETs /api/version through nginx every ${POLL_MS} ms on a fresh connection; the time is from the bench starting the command to the first answer naming the expected version (answer received). The load's own /api/version transitions are reported as a cross-check only (they sample every 250 ms).`,
  "Wall time: from the bench starting the command (nsenter into the server + rf-agent's node start included) until it exited.",
  "rf-agent step times come from `rf-agent history --json -n 1`; 'switch confirmed' is the time of rf-agent's own `✓ switch nginx` log line (JSON on stderr, wall clock of the same machine) minus the command start. Start-to-healthy is the 'health' step (services are checked in parallel, so it is the slowest service's).",
  "Agent overhead (wall) = deploy wall time - health step; agent overhead to switch = switch confirmed - health step. rf-agent's deploy also watches the new color and drains the old one after the switch (by design), which the wall time includes.",
  "Drain deadline of an rf-agent operation = switch confirmed + max(grace, drain) seconds; drops before it are the ones the websocket target counts.",
  "Naive: a second install of the same app (/srv/naive: a git clone, its own venv, plain units naive-api/naive-web on ports 8000/8501, a plain nginx site with the usual websocket proxying) replaces rf-agent's units and site on the same server after the rf-agent phase. Deploy = `git pull` + `systemctl restart naive-api naive-web`; rollback = `git reset --hard <previous commit>` + the same restart (added to mirror rf-agent's deploy+rollback pairs). The wait until the new version and the UI health answer again is measured, not part of the command.",
  "Code-only change: each new version only changes the VERSION file the app reads; requirements.txt never changes, so rf-agent skips pip.",
];

// ------------------------------------------------------------------------------------------ helpers
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const say = (line: string) => process.stderr.write(`bench: ${line}\n`);

async function waitFor(what: string, check: () => boolean, timeoutMs = READY_TIMEOUT_MS): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(25);
  }
  return Date.now();
}

function lineReader(stream: NodeJS.ReadableStream, onLine: (line: string, at: number) => void): void {
  let buf = "";
  stream.on("data", (chunk: Buffer | string) => {
    const at = Date.now();
    buf += chunk.toString();
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      onLine(line, at);
    }
  });
}

// ------------------------------------------------------------------------------------------ poller
interface Sample {
  k: "v" | "h";
  /** epoch ms sent / answered */
  s: number;
  r: number;
  st: number;
  v: string;
}

class Poller {
  readonly samples: Sample[] = [];
  readonly proc: InnerProcess;
  private last: Partial<Record<"v" | "h", Sample>> = {};

  constructor(server: TestServer) {
    this.proc = server.spawn(
      "node",
      ["--import", "tsx", path.join(REPO_ROOT, "bench", "poller.ts"), "http://127.0.0.1:80", String(POLL_MS)],
      { cwd: REPO_ROOT },
    );
    lineReader(this.proc.stdout, (line) => {
      try {
        const [k, s, r, st, v] = JSON.parse(line) as [Sample["k"], number, number, number, string];
        const sample = { k, s, r, st, v };
        this.samples.push(sample);
        this.last[k] = sample;
      } catch {
        // not ours
      }
    });
  }

  latest(k: "v" | "h"): Sample | undefined {
    return this.last[k];
  }

  between(k: "v" | "h", from: number, to: number): Sample[] {
    return this.samples.filter((x) => x.k === k && x.s >= from && x.s < to);
  }

  async stop(): Promise<void> {
    this.proc.kill("SIGTERM");
    await this.proc;
  }
}

// ------------------------------------------------------------------------------------------ load tap
interface Snapshot {
  /** load time (ms since load start) when the load computed it */
  t: number;
  sent: number;
  failed: number;
  retried: number;
  sessionsOpened: number;
  dropped: number;
  askedAt: number;
  gotAt: number;
}

/** Watches load.mjs's stderr: its first line dates its start; SIGUSR1 summaries give counters at a moment. */
class LoadTap {
  firstLineAt: number | null = null;
  private waiters: ((s: LoadSummary, at: number) => void)[] = [];
  readonly snapshots: Snapshot[] = [];
  readonly log: string[] = [];
  private pid = 0;

  constructor(
    private readonly server: TestServer,
    readonly load: Load,
  ) {
    lineReader(load.process.stderr, (line, at) => {
      this.firstLineAt ??= at;
      if (line.startsWith("{")) {
        try {
          const s = JSON.parse(line) as LoadSummary;
          this.waiters.shift()?.(s, at);
        } catch {
          // a line we cannot read is not a snapshot
        }
      } else if (line.trim()) this.log.push(line);
    });
  }

  async started(): Promise<void> {
    await waitFor("the load to start", () => this.firstLineAt !== null, 30_000);
    // The load we started is the only load.mjs in this server's own pid namespace.
    const r = await this.server.exec("pgrep", ["-f", "--", "scripts/load.mjs"], { reject: true });
    const pids = r.stdout.split("\n").filter(Boolean);
    if (pids.length !== 1) throw new Error(`expected one load.mjs in the server, found: ${r.stdout}`);
    this.pid = Number(pids[0]);
  }

  async snapshot(): Promise<Snapshot> {
    const got = new Promise<[LoadSummary, number]>((resolve) =>
      this.waiters.push((s, at) => resolve([s, at])),
    );
    const askedAt = Date.now();
    await this.server.exec("kill", ["-USR1", String(this.pid)], { reject: true });
    const [s, gotAt] = await Promise.race([
      got,
      sleep(15_000).then(() => {
        throw new Error("load.mjs did not answer SIGUSR1 within 15 s");
      }),
    ]);
    const snap: Snapshot = {
      t: s.durationMs,
      sent: s.requests.sent,
      failed: s.requests.failed,
      retried: s.requests.retried,
      sessionsOpened: s.sessions.opened,
      dropped: s.sessions.dropped,
      askedAt,
      gotAt,
    };
    this.snapshots.push(snap);
    return snap;
  }

  /** Wall-clock ms of the load's t = 0, bracketed by every observation we have. */
  alignment(): { startEpoch: number; uncertaintyMs: number; low: number; high: number } {
    let low = -Infinity;
    let high = this.firstLineAt ?? Infinity;
    for (const s of this.snapshots) {
      low = Math.max(low, s.askedAt - s.t);
      high = Math.min(high, s.gotAt - s.t);
    }
    if (!Number.isFinite(low)) low = high - 50;
    return { startEpoch: (low + high) / 2, uncertaintyMs: Math.max(0, (high - low) / 2), low, high };
  }
}

// ------------------------------------------------------------------------------------------ operations
interface StepTime {
  step: string;
  ms: number;
  ok: boolean;
  /** ms from the command start to the step's end, from rf-agent's log line */
  endMs: number | null;
}

interface HistoryEntry {
  id: string;
  command: string;
  startedAt: string;
  ms: number;
  outcome: string;
  exitCode: number;
  error?: string;
  steps: { step: string; ms: number; ok: boolean }[];
}

type Phase = "rf-agent" | "naive";

interface Op {
  phase: Phase;
  run: number;
  op: "deploy" | "rollback";
  command: string;
  expectVersion: string;
  fromVersion: string;
  exitCode: number;
  startEpoch: number;
  endEpoch: number;
  wallMs: number;
  readyEpoch: number | null;
  timeToNewVersionMs: number | null;
  /** first answer of the UI's health after its last failing one, if it failed at all in the window */
  webBackMs: number | null;
  /** max(time to new version, UI back): the whole app serving again */
  timeToAllServingMs?: number | null;
  error: string | null;
  stdout: string;
  stderrTail: string;
  /** ms spent just before the start snapshot preparing this operation (pushing the version, reading HEAD) */
  prepMs: number;
  startSnap: Snapshot;
  /** taken once the operation is done, serving, and settled */
  endSnap?: Snapshot;
  /** the host's 1-minute load average when the command ended (other servers may share the 2 cores) */
  hostLoad1?: number | null;
  // rf-agent only
  /** wall ms of `node -e 0` in the server (nsenter + bare node), right after the command */
  nodeFloorMs?: number;
  /** wall ms of `rf-agent history --json -n 1` right after the command: rf-agent's start-up floor */
  cliFloorMs?: number;
  deployId?: string | null;
  history?: HistoryEntry | null;
  steps?: StepTime[];
  cliStartMs?: number | null;
  switchConfirmedMs?: number | null;
  healthMs?: number | null;
  startStepMs?: number | null;
  warmRollback?: boolean;
  /** true if rf-agent ran pip in this operation (then it was not code-only for rf-agent) */
  pipRan?: boolean;
  agentOverheadWallMs?: number | null;
  agentOverheadToSwitchMs?: number | null;
  drainDeadlineEpoch?: number | null;
  // filled after the load stops
  load?: WindowStats;
  poller?: {
    versionErrors: number;
    healthErrors: number;
    errors: { path: string; sentMs: number; answeredMs: number; status: number; body: string }[];
    versionsSeen: string[];
  };
  timeToNewVersionFromLoadMs?: number | null;
  /** the load's failures and drops in this window, as ms from the command start (same order as load.*) */
  failuresMsFromStart?: number[];
  dropsMsFromStart?: number[];
}

interface WindowStats {
  fromT: number;
  toT: number;
  sent: number;
  failed: number;
  failedByCounter: number;
  retried: number;
  sessionsOpened: number;
  failureWindows: FailureWindow[];
  failureWindowMs: number;
  failures: LoadSummary["failures"];
  drops: LoadSummary["sessions"]["drops"];
  dropsBeforeDrainDeadline: number | null;
}

function parseLogLines(stderr: string): Record<string, unknown>[] {
  return stderr.split("\n").flatMap((l) => {
    if (!l.startsWith("{")) return [];
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

function tail(text: string, lines = 25): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

class Bench {
  readonly ops: Op[] = [];
  poller!: Poller;
  tap!: LoadTap;

  constructor(readonly server: TestServer) {}

  private async rfAgent(args: string[]) {
    return this.server.rfAgent(args, { env: TRIGGER });
  }

  /** Wall ms of the last `rf-agent history` call: node start + imports + config, no real work. */
  historyWallMs = 0;

  async lastHistory(): Promise<HistoryEntry | null> {
    const t = Date.now();
    const r = await this.rfAgent(["history", "--json", "-n", "1"]);
    this.historyWallMs = Date.now() - t;
    const line = r.stdout.trim().split("\n").at(-1) ?? "";
    try {
      return JSON.parse(line) as HistoryEntry;
    } catch {
      return null;
    }
  }

  /** A command that is not a measured run (the first deploys, before the load starts), but timed. */
  async unmeasured(args: string[]) {
    const start = Date.now();
    const r = await this.rfAgent(args);
    const wallMs = Date.now() - start;
    if (r.exitCode !== 0)
      throw new Error(`rf-agent ${args.join(" ")} failed (exit ${r.exitCode}):\n${tail(r.stderr)}`);
    const history = await this.lastHistory();
    return {
      command: `rf-agent ${args.join(" ")}`,
      wallMs,
      exitCode: r.exitCode,
      stdout: r.stdout.trim(),
      history,
      steps: this.stepTimes(history, r.stderr, start),
    };
  }

  private stepTimes(history: HistoryEntry | null, stderr: string, start: number): StepTime[] {
    const lines = parseLogLines(stderr).filter((l) => typeof l.step === "string" && typeof l.ms === "number");
    return (history?.steps ?? []).map((s) => {
      const line = lines.find((l) => l.step === s.step && l.ms === s.ms);
      return { ...s, endMs: typeof line?.time === "number" ? line.time - start : null };
    });
  }

  /** The poller's latest answers: the expected version (asked after start) and a healthy UI (asked after end). */
  ready(expect: string, start: number, end: number): boolean {
    const v = this.poller.latest("v");
    const h = this.poller.latest("h");
    return (
      !!v && v.s >= start && v.st === 200 && v.v.startsWith(`${expect}/`) && !!h && h.s >= end && h.st === 200
    );
  }

  private async finishOp(op: Op): Promise<Op> {
    if (op.exitCode === 0 || op.phase === "naive") {
      try {
        op.readyEpoch = await waitFor(`version ${op.expectVersion} to serve`, () =>
          this.ready(op.expectVersion, op.startEpoch, op.endEpoch),
        );
      } catch (e) {
        op.error = `${op.error ? `${op.error}; ` : ""}${(e as Error).message}`;
      }
    }
    const first = this.poller
      .between("v", op.startEpoch, Infinity)
      .find((x) => x.st === 200 && x.v.startsWith(`${op.expectVersion}/`));
    op.timeToNewVersionMs = first ? first.r - op.startEpoch : null;
    const until = op.readyEpoch ?? Date.now();
    const health = this.poller.between("h", op.startEpoch, until);
    const lastBad = health.map((x) => x.st === 200).lastIndexOf(false);
    const back = lastBad >= 0 ? health.slice(lastBad + 1).find((x) => x.st === 200) : undefined;
    op.webBackMs = back ? back.r - op.startEpoch : null;
    op.timeToAllServingMs =
      op.timeToNewVersionMs === null ? null : Math.max(op.timeToNewVersionMs, op.webBackMs ?? 0);
    this.ops.push(op);
    const tn = op.timeToNewVersionMs === null ? "never" : fmtMs(op.timeToNewVersionMs);
    say(
      `${op.phase} run ${op.run} ${op.op} -> ${op.expectVersion}: exit ${op.exitCode}, wall ${fmtMs(op.wallMs)}, new version after ${tn}` +
        (op.error ? ` (${op.error})` : ""),
    );
    await sleep(SETTLE_MS);
    op.endSnap = await this.tap.snapshot();
    return op;
  }

  async rfOp(
    run: number,
    kind: "deploy" | "rollback",
    fromVersion: string,
    expectVersion: string,
    prepMs: number,
  ): Promise<Op> {
    const startSnap = await this.tap.snapshot();
    const startEpoch = Date.now();
    const r = await this.rfAgent([kind]);
    const endEpoch = Date.now();
    const logs = parseLogLines(r.stderr);
    const deployId = (logs.find((l) => typeof l.deploy === "string")?.deploy as string | undefined) ?? null;
    const history = await this.lastHistory();
    const cliFloorMs = this.historyWallMs;
    const t = Date.now();
    await this.server.exec("node", ["-e", "0"]);
    const nodeFloorMs = Date.now() - t;
    const matched = history && history.id === deployId ? history : null;
    const steps = this.stepTimes(matched, r.stderr, startEpoch);
    const firstLog = logs.find((l) => typeof l.time === "number");
    const switchStep = steps.find((s) => s.step === "switch nginx" && s.ok);
    const healthMs = steps.find((s) => s.step === "health")?.ms ?? null;
    const switchConfirmedMs = switchStep?.endMs ?? null;
    const wallMs = endEpoch - startEpoch;
    return this.finishOp({
      phase: "rf-agent",
      run,
      op: kind,
      command: `rf-agent ${kind}`,
      expectVersion,
      fromVersion,
      exitCode: r.exitCode,
      startEpoch,
      endEpoch,
      wallMs,
      readyEpoch: null,
      timeToNewVersionMs: null,
      webBackMs: null,
      error:
        r.exitCode === 0 ? (matched ? null : "history entry not found for this run") : `exit ${r.exitCode}`,
      stdout: r.stdout.trim(),
      stderrTail: r.exitCode === 0 ? "" : tail(r.stderr),
      prepMs,
      startSnap,
      deployId,
      hostLoad1: os.loadavg()[0] ?? null,
      nodeFloorMs,
      cliFloorMs,
      history: matched,
      steps,
      cliStartMs: typeof firstLog?.time === "number" ? firstLog.time - startEpoch : null,
      switchConfirmedMs,
      healthMs,
      startStepMs: steps.find((s) => s.step === "start")?.ms ?? null,
      pipRan: steps.some((s) => s.step.includes("pip")),
      warmRollback: kind === "rollback" ? !steps.some((s) => s.step === "health") : undefined,
      agentOverheadWallMs: kind === "deploy" && healthMs !== null ? wallMs - healthMs : null,
      agentOverheadToSwitchMs:
        kind === "deploy" && healthMs !== null && switchConfirmedMs !== null
          ? switchConfirmedMs - healthMs
          : null,
      drainDeadlineEpoch:
        switchConfirmedMs !== null
          ? startEpoch + switchConfirmedMs + Math.max(SWITCH.grace, SWITCH.drain) * 1000
          : null,
    });
  }

  async naiveOp(
    run: number,
    kind: "deploy" | "rollback",
    fromVersion: string,
    expectVersion: string,
    script: string,
    prepMs: number,
  ) {
    const startSnap = await this.tap.snapshot();
    const startEpoch = Date.now();
    const r = await this.server.sh(script);
    const endEpoch = Date.now();
    return this.finishOp({
      phase: "naive",
      hostLoad1: os.loadavg()[0] ?? null,
      run,
      op: kind,
      command: script,
      expectVersion,
      fromVersion,
      exitCode: r.exitCode,
      startEpoch,
      endEpoch,
      wallMs: endEpoch - startEpoch,
      readyEpoch: null,
      timeToNewVersionMs: null,
      webBackMs: null,
      error: r.exitCode === 0 ? null : `exit ${r.exitCode}`,
      stdout: r.stdout.trim(),
      stderrTail: r.exitCode === 0 ? "" : tail(r.stderr),
      prepMs,
      startSnap,
    });
  }
}

// ------------------------------------------------------------------------------------------ naive setup
const asNaive = (cmd: string) => `runuser -u ${NAIVE.user} -- env HOME=${NAIVE.home} ${cmd}`;

function naiveUnit(service: "api" | "web"): string {
  const exec =
    service === "api"
      ? `${NAIVE.venv}/bin/uvicorn backend.main:app --host 127.0.0.1 --port 8000`
      : `${NAIVE.venv}/bin/streamlit run Home.py --server.port 8501 --server.address 127.0.0.1 --server.headless true`;
  return `# bench: the naive setup, one copy of the app restarted in place
[Unit]
Description=naive ${service}
After=network.target

[Service]
User=${NAIVE.user}
Group=${NAIVE.user}
WorkingDirectory=${NAIVE.app}
Environment=RF_COLOR=naive PYTHONUNBUFFERED=1 HOME=${NAIVE.home}
ExecStart=${exec}
Restart=on-failure

[Install]
WantedBy=multi-user.target
`;
}

const NAIVE_SITE = `# bench: the naive setup's nginx site (the usual websocket proxying from the nginx docs)
map $http_upgrade $naive_connection_upgrade {
    default upgrade;
    ''      close;
}
server {
    listen 80 default_server;
    server_name _;

    location /api/ {
        proxy_pass http://127.0.0.1:8000;
        proxy_http_version 1.1;
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
    location / {
        proxy_pass http://127.0.0.1:8501;
        proxy_http_version 1.1;
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $naive_connection_upgrade;
        proxy_read_timeout 1d;
        proxy_buffering off;
    }
}
`;

/** Clone + venv while rf-agent still serves; returns timings. */
async function prepareNaive(server: TestServer, pipArgs: string): Promise<{ cloneAndVenvMs: number }> {
  const start = Date.now();
  await server.sh(
    `set -euo pipefail
id ${NAIVE.user} >/dev/null 2>&1 || useradd --system --user-group --home-dir ${NAIVE.home} --shell /usr/sbin/nologin ${NAIVE.user}
mkdir -p ${NAIVE.home}
chown ${NAIVE.user}:${NAIVE.user} ${NAIVE.home}
${asNaive(`git clone -q -b main /srv/origin/app.git ${NAIVE.app}`)}
${asNaive(`python3 -m venv ${NAIVE.venv}`)}
${asNaive(`${NAIVE.venv}/bin/pip install -q ${pipArgs} -r ${NAIVE.app}/requirements.txt`)}`,
    { reject: true, timeoutMs: 600_000 },
  );
  return { cloneAndVenvMs: Date.now() - start };
}

/** Stops rf-agent's units, takes its nginx site out, and starts the naive units behind a plain site. */
async function switchToNaive(server: TestServer, rfUnits: string[]): Promise<void> {
  await server.writeFile("/etc/systemd/system/naive-api.service", naiveUnit("api"));
  await server.writeFile("/etc/systemd/system/naive-web.service", naiveUnit("web"));
  await server.writeFile(NAIVE.site, NAIVE_SITE);
  await server.sh(
    `set -euo pipefail
systemctl stop ${rfUnits.join(" ")}
rm -f /etc/nginx/sites-enabled/rf-agent-demo.conf
ln -sfn ${NAIVE.site} ${NAIVE.siteLink}
systemctl daemon-reload
systemctl enable --now ${NAIVE.units.join(" ")}
nginx -t -q
systemctl reload nginx`,
    { reject: true },
  );
}

// ------------------------------------------------------------------------------------------ analysis
function windowStats(
  summary: LoadSummary,
  fromT: number,
  toT: number,
  a: Snapshot,
  b: Snapshot,
  deadlineT: number | null,
): WindowStats {
  const failures = summary.failures.filter((f) => f.t >= fromT && f.t < toT);
  const drops = summary.sessions.drops.filter((d) => d.t >= fromT && d.t < toT);
  const windows = failureWindows(failures.map((f) => f.t));
  return {
    fromT,
    toT,
    sent: b.sent - a.sent,
    // By send time, like sent and the failure windows; the counter (by answer time) if the list was cut short.
    failed: summary.failuresNotListed === 0 ? failures.length : b.failed - a.failed,
    failedByCounter: b.failed - a.failed,
    retried: b.retried - a.retried,
    sessionsOpened: b.sessionsOpened - a.sessionsOpened,
    failureWindows: windows,
    failureWindowMs: windows.reduce((n, w) => n + (w.end - w.start), 0),
    failures,
    drops,
    dropsBeforeDrainDeadline: deadlineT === null ? null : drops.filter((d) => d.t <= deadlineT).length,
  };
}

function analyse(bench: Bench, summary: LoadSummary, loadStart: number) {
  for (const phase of ["rf-agent", "naive"] as const) {
    const ops = bench.ops.filter((o) => o.phase === phase);
    ops.forEach((op) => {
      const end = op.endSnap ?? op.startSnap;
      const deadlineT = op.drainDeadlineEpoch ? op.drainDeadlineEpoch - loadStart : null;
      op.load = windowStats(summary, op.startSnap.t, end.t, op.startSnap, end, deadlineT);
      op.failuresMsFromStart = op.load.failures.map((f) => Math.round(loadStart + f.t - op.startEpoch));
      op.dropsMsFromStart = op.load.drops.map((d) => Math.round(loadStart + d.t - op.startEpoch));
      const endEpoch = loadStart + end.t;
      const v = bench.poller.between("v", op.startEpoch, endEpoch);
      const h = bench.poller.between("h", op.startEpoch, endEpoch);
      const bad = [...v, ...h].filter((x) => x.st !== 200).sort((a, b) => a.s - b.s);
      op.poller = {
        versionErrors: v.filter((x) => x.st !== 200).length,
        healthErrors: h.filter((x) => x.st !== 200).length,
        // ms from the command start: sent, answered
        errors: bad.slice(0, 200).map((x) => ({
          path: x.k === "v" ? "/api/version" : "/_stcore/health",
          sentMs: x.s - op.startEpoch,
          answeredMs: x.r - op.startEpoch,
          status: x.st,
          body: x.v,
        })),
        versionsSeen: [...new Set(v.map((x) => (x.st === 200 ? x.v : `HTTP ${x.st || x.v}`)))],
      };
      const tr = summary.transitions.find(
        (x) => x.t >= op.startSnap.t && x.t < end.t && x.to.startsWith(`${op.expectVersion}/`),
      );
      op.timeToNewVersionFromLoadMs = tr ? Math.round(loadStart + tr.t - op.startEpoch) : null;
    });
  }
}

function totals(ops: Op[]) {
  const sum = (f: (o: Op) => number) => ops.reduce((n, o) => n + f(o), 0);
  const nums = (f: (o: Op) => number | null | undefined) =>
    ops.map(f).filter((x): x is number => typeof x === "number");
  return {
    operations: ops.length,
    sent: sum((o) => o.load?.sent ?? 0),
    failed: sum((o) => o.load?.failed ?? 0),
    failureWindows: sum((o) => o.load?.failureWindows.length ?? 0),
    failureWindowMs: sum((o) => o.load?.failureWindowMs ?? 0),
    wsDropped: sum((o) => o.load?.drops.length ?? 0),
    wsDroppedBeforeDrainDeadline: sum((o) => o.load?.dropsBeforeDrainDeadline ?? 0),
    pollerErrors: sum((o) => (o.poller?.versionErrors ?? 0) + (o.poller?.healthErrors ?? 0)),
    meanWallMs: mean(nums((o) => o.wallMs)),
    maxWallMs: Math.max(...nums((o) => o.wallMs)),
    meanTimeToNewVersionMs: mean(nums((o) => o.timeToNewVersionMs)),
    maxTimeToNewVersionMs: Math.max(...nums((o) => o.timeToNewVersionMs)),
    neverServed: ops.filter((o) => o.timeToNewVersionMs === null).length,
    meanAgentOverheadWallMs: mean(nums((o) => o.agentOverheadWallMs)),
    meanAgentOverheadToSwitchMs: mean(nums((o) => o.agentOverheadToSwitchMs)),
    failedCommands: ops.filter((o) => o.exitCode !== 0 || o.error).length,
  };
}

/** Mean ms of each part of rf-agent's operations, in order: where the time between steps goes too. */
function breakdown(ops: Op[]): Record<string, number> {
  const acc: Record<string, number[]> = {};
  const add = (k: string, v: number) => (acc[k] ??= []).push(v);
  for (const o of ops) {
    if (o.cliStartMs == null || !o.steps?.length) continue;
    add("cli start (to first log line)", o.cliStartMs);
    let before = 0;
    let switched = false;
    for (const st of o.steps) {
      add(st.step, st.ms);
      if (!switched) before += st.ms;
      if (st.step === "switch nginx") switched = true;
    }
    if (o.switchConfirmedMs != null)
      add("between steps, until switch", o.switchConfirmedMs - o.cliStartMs - before);
    const lastEnd = o.steps.at(-1)?.endMs;
    if (lastEnd != null) add("after last step, until exit", o.wallMs - lastEnd);
  }
  return Object.fromEntries(Object.entries(acc).map(([k, v]) => [k, Math.round(mean(v))]));
}

// ------------------------------------------------------------------------------------------ output
function opRows(ops: Op[]): string[][] {
  const s = (ms: number | null | undefined) => (typeof ms === "number" ? (ms / 1000).toFixed(2) : "-");
  return ops.map((o) => [
    o.phase,
    String(o.run),
    `${o.op}${o.exitCode !== 0 ? ` (exit ${o.exitCode})` : ""}`,
    `${o.fromVersion}->${o.expectVersion}`,
    String(o.load?.sent ?? "-"),
    String(o.load?.failed ?? "-"),
    `${o.load?.failureWindows.length ?? "-"} / ${s(o.load?.failureWindowMs)}`,
    `${o.load?.drops.length ?? "-"}${o.load?.dropsBeforeDrainDeadline != null ? ` (${o.load.dropsBeforeDrainDeadline})` : ""}`,
    String((o.poller?.versionErrors ?? 0) + (o.poller?.healthErrors ?? 0)),
    s(o.wallMs),
    s(o.timeToNewVersionMs),
    s(o.webBackMs),
    s(o.switchConfirmedMs),
    s(o.healthMs),
    s(o.agentOverheadWallMs),
    s(o.agentOverheadToSwitchMs),
  ]);
}

function totalRow(label: string, t: ReturnType<typeof totals>): string[] {
  const s = (ms: number | null) => (ms === null || !Number.isFinite(ms) ? "-" : (ms / 1000).toFixed(2));
  return [
    label,
    "all",
    `${t.operations} ops`,
    "",
    String(t.sent),
    String(t.failed),
    `${t.failureWindows} / ${s(t.failureWindowMs)}`,
    `${t.wsDropped}${label === "rf-agent" ? ` (${t.wsDroppedBeforeDrainDeadline})` : ""}`,
    String(t.pollerErrors),
    `avg ${s(t.meanWallMs)}`,
    `avg ${s(t.meanTimeToNewVersionMs)}`,
    "",
    "",
    "",
    `avg ${s(t.meanAgentOverheadWallMs)}`,
    `avg ${s(t.meanAgentOverheadToSwitchMs)}`,
  ];
}

const HEADER = [
  "phase",
  "run",
  "op",
  "version",
  "sent",
  "failed",
  "fail win n/s",
  "ws drop (<=dl)",
  "poll err",
  "wall s",
  "new ver s",
  "ui back s",
  "switch s",
  "health s",
  "ovh wall s",
  "ovh sw s",
];

// ------------------------------------------------------------------------------------------ main
interface Args {
  runs: number;
  out: string;
  name: string;
}

function args(): Args {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      runs: { type: "string" },
      out: { type: "string" },
      name: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(
      "usage: npm run bench -- [--runs N] [--out FILE] [--name SERVER]\n" +
        "  --runs N       deploy+rollback pairs per phase (default 5)\n" +
        "  --out FILE     JSON results (default bench-results/bench-<timestamp>.json)\n" +
        "  --name SERVER  disposable server name (default $RF_BENCH_SERVER or rf-bench-<pid>)\n",
    );
    process.exit(0);
  }
  const runs = values.runs === undefined ? 5 : Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`--runs must be a whole number >= 1, got ${values.runs}`);
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const out = path.resolve(
    process.env.INIT_CWD ?? process.cwd(),
    values.out ?? path.join("bench-results", `bench-${stamp}.json`),
  );
  const name = values.name ?? process.env.RF_BENCH_SERVER ?? `rf-bench-${process.pid}`;
  return { runs, out, name };
}

async function main(): Promise<number> {
  const opts = args();
  const startedAt = new Date();
  const others = (await execa("bash", [SERVER_SH, "list"], { reject: false })).stdout.trim();
  const meta = {
    startedAt: startedAt.toISOString(),
    runs: opts.runs,
    server: opts.name,
    host: { cpus: os.cpus().length, loadavgAtStart: os.loadavg(), node: process.version },
    otherServersAtStart: others ? others.split("\n").filter((l) => !l.startsWith(`${opts.name} `)) : [],
  };
  const agentIni = baseConfig();
  const config = {
    switch: SWITCH,
    health: agentIni.health,
    services: { api: agentIni["service.api"], web: agentIni["service.web"] },
    load: LOAD,
    pollMs: POLL_MS,
    settleMs: SETTLE_MS,
    warmupMs: WARMUP_MS,
  };
  say(`server ${opts.name}, ${opts.runs} runs; results to ${opts.out}`);
  if (meta.otherServersAtStart.length)
    say(`note: other servers running on this host: ${meta.otherServersAtStart.join(", ")}`);

  // Our own copy of the build: others working in this repo may rebuild dist/ while the bench runs.
  const build = path.join(REPO_ROOT, "bench-results", `.rf-agent-${opts.name}`);
  rmSync(build, { recursive: true, force: true });
  mkdirSync(build, { recursive: true });
  for (const f of ["dist", "units", "nginx", "package.json"])
    cpSync(path.join(REPO_ROOT, f), path.join(build, f), { recursive: true });
  const git = async (args: string[]) =>
    (await execa("git", ["-C", REPO_ROOT, ...args], { reject: false })).stdout;
  const source = {
    head: (await git(["rev-parse", "HEAD"])).trim(),
    uncommitted: (await git(["status", "--porcelain", "--", "src", "units", "nginx", "package.json"]))
      .split("\n")
      .filter(Boolean),
  };

  let server: TestServer | undefined;
  let poller: Poller | undefined;
  let load: Load | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    say(`${sig}: tearing the server down`);
    void (server?.down() ?? Promise.resolve()).finally(() => {
      rmSync(build, { recursive: true, force: true });
      process.exit(130);
    });
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  try {
    say("booting the server");
    server = await TestServer.up(opts.name);
    const booted = server;
    await server.exec("ln", ["-sfn", path.join(build, "dist", "cli.js"), "/usr/local/bin/rf-agent"], {
      reject: true,
    });
    const origin = await createOrigin(server);
    const ini = await writeAgentConfig(server, { switch: { ...SWITCH } });
    const initialVersion = (await server.readFile(path.join(origin.work, "VERSION"))).trim();

    say("first deploy (venv + pip install; not a measured run)");
    const bench = new Bench(server);
    const first = await bench.unmeasured(["deploy"]);
    say(`first deploy: ${fmtMs(first.wallMs)}`);
    // The other color has no venv yet: its first deploy would run pip, so it is not a code-only deploy.
    // Give it one now (deploy + rollback, not measured), as every install's second deploy does once.
    say("preparing the other color (venv + pip install; deploy + rollback, not measured)");
    await pushVersion(server, origin, PREP_VERSION);
    const prepDeploy = await bench.unmeasured(["deploy"]);
    const prepRollback = await bench.unmeasured(["rollback"]);
    say(`other color: deploy ${fmtMs(prepDeploy.wallMs)}, rollback ${fmtMs(prepRollback.wallMs)}`);

    poller = new Poller(server);
    bench.poller = poller;
    await waitFor("the poller to see the first version", () => bench.ready(initialVersion, 0, 0), 60_000);
    load = startLoad(server, LOAD);
    bench.tap = new LoadTap(server, load);
    await bench.tap.started();
    say(`load running; warming up ${WARMUP_MS / 1000} s`);
    await sleep(WARMUP_MS);

    // ---- rf-agent
    // Each rollback puts the version from before the deploy back, so the live version between runs stays the same.
    const live = initialVersion;
    for (let i = 1; i <= opts.runs; i++) {
      const version = `2.${i}.0`;
      const prepStart = Date.now();
      await pushVersion(server, origin, version);
      const d = await bench.rfOp(i, "deploy", live, version, Date.now() - prepStart);
      if (d.exitCode !== 0 || d.error) {
        say(`stopping the rf-agent phase: deploy failed:\n${d.stderrTail}`);
        break;
      }
      const r = await bench.rfOp(i, "rollback", version, live, 0);
      if (r.exitCode !== 0 || r.error) {
        say(`stopping the rf-agent phase: rollback failed:\n${r.stderrTail}`);
        break;
      }
    }
    const rfEnd = bench.ops.at(-1)?.endSnap ?? (await bench.tap.snapshot());
    const errorLog = () => booted.exec("cat", ["/var/log/nginx/error.log"]).then((r) => r.stdout.split("\n"));
    const rfNginxErrors = (await errorLog()).filter((l) => l.trim() && !l.includes("signal process started"));

    // ---- transition to naive
    say("setting up the naive install (clone + venv + pip) while rf-agent serves");
    const pipArgs = String(agentIni.app?.pip_args ?? "");
    const prep = await prepareNaive(server, pipArgs);
    // As with rf-agent, each rollback puts the version from before its deploy back (checked by the poller).
    const naiveVersion = (
      await server.sh(asNaive(`cat ${NAIVE.app}/VERSION`), { reject: true })
    ).stdout.trim();
    const transitionStart = Date.now();
    const rfUnits = ["api", "web"].flatMap((s) => ["blue", "green"].map((c) => `demo-${s}@${c}.service`));
    await switchToNaive(server, rfUnits);
    const naiveUp = await waitFor("the naive install to serve", () =>
      bench.ready(naiveVersion, transitionStart, transitionStart),
    );
    say(`naive install serving ${naiveVersion} after ${fmtMs(naiveUp - transitionStart)}`);
    await sleep(WARMUP_MS);

    // ---- naive
    const naiveStartSnapIndex = bench.tap.snapshots.length;
    for (let i = 1; i <= opts.runs; i++) {
      const version = `3.${i}.0`;
      const prepStart = Date.now();
      await pushVersion(server, origin, version);
      const prev = (
        await server.sh(asNaive(`git -C ${NAIVE.app} rev-parse HEAD`), { reject: true })
      ).stdout.trim();
      const restart = `systemctl restart ${NAIVE.units.join(" ")}`;
      await bench.naiveOp(
        i,
        "deploy",
        naiveVersion,
        version,
        `set -e; ${asNaive(`git -C ${NAIVE.app} pull -q --ff-only`)}; ${restart}`,
        Date.now() - prepStart,
      );
      await bench.naiveOp(
        i,
        "rollback",
        version,
        naiveVersion,
        `set -e; ${asNaive(`git -C ${NAIVE.app} reset -q --hard ${prev}`)}; ${restart}`,
        0,
      );
    }
    const lastOp = bench.ops.at(-1);
    const naiveEnd =
      lastOp?.phase === "naive" && lastOp.endSnap ? lastOp.endSnap : await bench.tap.snapshot();
    const allNginxErrors = (await errorLog()).filter(
      (l) => l.trim() && !l.includes("signal process started"),
    );
    const loadStopAsked = Date.now();
    const summary = await load.stop();
    load = undefined;
    await poller.stop();
    poller = undefined;

    // ---- analysis
    const align = bench.tap.alignment();
    analyse(bench, summary, align.startEpoch);
    const rfOps = bench.ops.filter((o) => o.phase === "rf-agent");
    const nvOps = bench.ops.filter((o) => o.phase === "naive");
    const rfT = totals(rfOps);
    const nvT = totals(nvOps);
    const rfDeploys = rfOps.filter((o) => o.op === "deploy");
    const rfRollbacks = rfOps.filter((o) => o.op === "rollback");
    const nvDeploys = nvOps.filter((o) => o.op === "deploy");
    const nvRollbacks = nvOps.filter((o) => o.op === "rollback");

    const snaps = bench.tap.snapshots;
    const firstRf = rfOps[0]?.startSnap ?? rfEnd;
    const firstNv = snaps[naiveStartSnapIndex] ?? naiveEnd;
    const zero: Snapshot = {
      t: 0,
      sent: 0,
      failed: 0,
      retried: 0,
      sessionsOpened: 0,
      dropped: 0,
      askedAt: 0,
      gotAt: 0,
    };
    const final: Snapshot = {
      t: summary.durationMs,
      sent: summary.requests.sent,
      failed: summary.requests.failed,
      retried: summary.requests.retried,
      sessionsOpened: summary.sessions.opened,
      dropped: summary.sessions.dropped,
      askedAt: loadStopAsked,
      gotAt: loadStopAsked,
    };
    const strip = (w: WindowStats) => ({ ...w, failures: undefined, drops: w.drops.length });
    const between = (ops: Op[]) => {
      const gaps = ops.slice(1).map((o, i) => {
        const a = ops[i]?.endSnap ?? o.startSnap;
        return windowStats(summary, a.t, o.startSnap.t, a, o.startSnap, null);
      });
      return {
        gaps: gaps.length,
        ms: gaps.reduce((n, g) => n + g.toT - g.fromT, 0),
        sent: gaps.reduce((n, g) => n + g.sent, 0),
        failed: gaps.reduce((n, g) => n + g.failed, 0),
        drops: gaps.reduce((n, g) => n + g.drops.length, 0),
        failures: gaps.flatMap((g) => g.failures),
      };
    };
    const buckets = {
      betweenRfAgentOps: between(rfOps),
      betweenNaiveOps: between(nvOps),
      warmup: strip(windowStats(summary, 0, firstRf.t, zero, firstRf, null)),
      transitionToNaive: strip(windowStats(summary, rfEnd.t, firstNv.t, rfEnd, firstNv, null)),
      tail: strip(windowStats(summary, naiveEnd.t, Infinity, naiveEnd, final, null)),
    };

    const meanOf = (ops: Op[], pick: (o: Op) => number | null | undefined) =>
      mean(ops.map(pick).filter((x): x is number => typeof x === "number"));
    const meanT = (ops: Op[]) => meanOf(ops, (o) => o.timeToNewVersionMs);
    const meanAll = (ops: Op[]) => meanOf(ops, (o) => o.timeToAllServingMs);
    const ratios = {
      failedRequests: fmtRatio(nvT.failed, rfT.failed),
      failureWindowSeconds: fmtRatio(nvT.failureWindowMs, rfT.failureWindowMs),
      wsDropped: fmtRatio(nvT.wsDropped, rfT.wsDropped),
      timeToNewVersionDeploy: fmtRatio(meanT(nvDeploys), meanT(rfDeploys)),
      timeToNewVersionRollback: fmtRatio(meanT(nvRollbacks), meanT(rfRollbacks)),
      timeToAllServingDeploy: fmtRatio(meanAll(nvDeploys), meanAll(rfDeploys)),
      timeToAllServingRollback: fmtRatio(meanAll(nvRollbacks), meanAll(rfRollbacks)),
      wallTimeDeploy: fmtRatio(mean(nvDeploys.map((o) => o.wallMs)), mean(rfDeploys.map((o) => o.wallMs))),
    };

    const maxOf = (xs: (number | null | undefined)[]) => {
      const n = xs.filter((x): x is number => typeof x === "number");
      return n.length === xs.length && n.length > 0 ? Math.max(...n) : null;
    };
    const rbMax = maxOf(rfRollbacks.map((o) => o.timeToNewVersionMs));
    const ovhSwitchMax = maxOf(rfDeploys.map((o) => o.agentOverheadToSwitchMs));
    const ovhWallMax = maxOf(rfDeploys.map((o) => o.agentOverheadWallMs));
    const complete = rfOps.length === 2 * opts.runs && rfT.failedCommands === 0;
    const targets = [
      {
        target: "0 failed requests across all rf-agent deploys and rollbacks",
        pass: complete && rfT.failed === 0,
        measured: `${rfT.failed} failed of ${rfT.sent} sent in ${rfOps.length} operations (${rfT.failureWindows} failure windows)`,
      },
      {
        target: "0 websocket sessions dropped before the drain deadline",
        pass: complete && rfT.wsDroppedBeforeDrainDeadline === 0,
        measured: `${rfT.wsDroppedBeforeDrainDeadline} dropped before the deadline (${rfT.wsDropped} in all rf-agent windows)`,
      },
      {
        target: `rollback within standby: command start to old version serving < ${ROLLBACK_TARGET_MS} ms`,
        pass:
          complete &&
          rbMax !== null &&
          rbMax < ROLLBACK_TARGET_MS &&
          rfRollbacks.every((o) => o.warmRollback),
        measured:
          rbMax === null
            ? "no measurement"
            : `max ${rbMax} ms, mean ${Math.round(meanT(rfRollbacks))} ms over ${rfRollbacks.length} rollbacks` +
              ` (all warm: ${rfRollbacks.every((o) => o.warmRollback)})`,
      },
      {
        target: `code-only deploy: time to switch confirmed <= slowest start-to-healthy + ${DEPLOY_OVERHEAD_TARGET_MS} ms`,
        pass: complete && ovhSwitchMax !== null && ovhSwitchMax <= DEPLOY_OVERHEAD_TARGET_MS,
        measured:
          ovhSwitchMax === null
            ? "no measurement"
            : `switch confirmed - health: max ${ovhSwitchMax} ms; wall - health (includes the ${SWITCH.watch} s watch and the drain, by design): max ${ovhWallMax} ms`,
      },
    ];

    // ---- print
    const rows = [...opRows(rfOps), totalRow("rf-agent", rfT), ...opRows(nvOps), totalRow("naive", nvT)];
    const out: string[] = [];
    out.push("");
    out.push(
      `rf-agent bench: ${opts.runs} runs, server ${opts.name}, ${meta.host.cpus} cpus, load ${LOAD.rps} req/s + ${LOAD.sessions} ws sessions (${LOAD.sessionMin}-${LOAD.sessionMax} s)`,
    );
    out.push(
      `agent.ini [switch]: standby=${SWITCH.standby} watch=${SWITCH.watch} grace=${SWITCH.grace} drain=${SWITCH.drain}; [health]: interval=${agentIni.health?.interval} successes=${agentIni.health?.successes}`,
    );
    out.push(
      `not runs: first deploy (venv + pip) ${fmtMs(first.wallMs)}; other color's first deploy (venv + pip) ${fmtMs(prepDeploy.wallMs)} + rollback ${fmtMs(prepRollback.wallMs)}; naive install clone + venv + pip ${fmtMs(prep.cloneAndVenvMs)}`,
    );
    out.push(
      `time to new version: poller GET /api/version through nginx every ${POLL_MS} ms (load transitions as cross-check in JSON); load clock aligned to +-${Math.round(align.uncertaintyMs)} ms`,
    );
    out.push("");
    out.push(renderTable(HEADER, rows));
    out.push(
      "  ws drop (<=dl): sessions dropped in the window (of those, before the drain deadline); poll err: poller answers not 200;",
    );
    out.push(
      "  new ver s: command start to the poller's first /api/version answer with the new version; ui back s: to the UI's health answering again after failing (- if it never failed)",
    );
    out.push(
      "  switch s: command start to rf-agent's `✓ switch nginx`; health s: 'health' step (slowest service); ovh wall = wall - health; ovh sw = switch - health",
    );
    out.push(
      `  outside op windows: warmup ${buckets.warmup.failed} failed / ${buckets.warmup.drops} drops; between rf-agent ops ${buckets.betweenRfAgentOps.failed} / ${buckets.betweenRfAgentOps.drops}; rf-agent -> naive changeover ${buckets.transitionToNaive.failed} / ${buckets.transitionToNaive.drops}; between naive ops ${buckets.betweenNaiveOps.failed} / ${buckets.betweenNaiveOps.drops}; tail ${buckets.tail.failed} failed`,
    );
    const parts = { deploy: breakdown(rfDeploys), rollback: breakdown(rfRollbacks) };
    for (const [k, b] of Object.entries(parts)) {
      const text = Object.entries(b)
        .map(([step, ms]) => `${step} ${ms}`)
        .join(" | ");
      out.push(`  rf-agent ${k}, mean ms: ${text}`);
    }
    const floors = (ops: Op[]) =>
      `node -e 0 ${Math.round(mean(ops.map((o) => o.nodeFloorMs ?? NaN)))} ms, rf-agent history ${Math.round(mean(ops.map((o) => o.cliFloorMs ?? NaN)))} ms`;
    out.push(
      `  nginx error.log lines during the rf-agent phase (first deploys included): ${rfNginxErrors.length}`,
    );
    out.push(`  start-up floors in the server (mean, nsenter included): ${floors(rfOps)}`);
    const hl = (ops: Op[]) => mean(ops.map((o) => o.hostLoad1 ?? NaN)).toFixed(1);
    out.push(
      `  host load average (1 min, 2 cores, shared with other servers): rf-agent ops ${hl(rfOps)}, naive ops ${hl(nvOps)}`,
    );
    for (const o of bench.ops.filter((x) => x.prepMs > 10_000))
      out.push(
        `  note: preparing ${o.phase} run ${o.run} ${o.op} (pushing the version) took ${fmtMs(o.prepMs)}`,
      );
    const pip = rfOps.filter((o) => o.pipRan);
    if (pip.length)
      out.push(`  WARNING: rf-agent ran pip in ${pip.length} measured operation(s): not code-only`);
    out.push("");
    out.push("ratios (naive / rf-agent):");
    for (const [k, v] of Object.entries(ratios)) out.push(`  ${k.padEnd(26)} ${v}`);
    out.push("");
    out.push("targets:");
    for (const t of targets) out.push(`  ${t.pass ? "PASS" : "FAIL"}  ${t.target}\n        ${t.measured}`);
    out.push("");
    process.stdout.write(out.join("\n") + "\n");

    const result = {
      meta: { ...meta, finishedAt: new Date().toISOString(), rfAgentSource: source },
      config: { ...config, agentIni: ini, initialVersion },
      method: METHOD,
      loadAlignment: align,
      firstDeploy: first,
      otherColorPreparation: { deploy: prepDeploy, rollback: prepRollback },
      naiveSetup: {
        ...prep,
        changeoverMs: naiveUp - transitionStart,
        unitFiles: { api: naiveUnit("api"), web: naiveUnit("web") },
        nginxSite: NAIVE_SITE,
      },
      rfAgent: { totals: rfT, meanStepMs: parts, operations: rfOps },
      naive: { totals: nvT, operations: nvOps },
      outsideOperationWindows: buckets,
      ratios,
      targets,
      load: { ...summary, log: bench.tap.log.slice(-200) },
      nginxErrors: {
        rfAgentPhase: rfNginxErrors.slice(-300),
        afterRfAgentPhase: {
          count: allNginxErrors.length - rfNginxErrors.length,
          last: allNginxErrors.slice(-50),
        },
      },
      pollerSamples: bench.poller.samples.length,
      table: out.join("\n"),
    };
    mkdirSync(path.dirname(opts.out), { recursive: true });
    writeFileSync(opts.out, JSON.stringify(result, null, 2) + "\n");
    process.stdout.write(`results: ${opts.out}\n`);
    return targets.every((t) => t.pass) ? 0 : 1;
  } finally {
    if (load) await load.stop().catch(() => undefined);
    if (poller) await poller.stop().catch(() => undefined);
    say("tearing the server down");
    await server?.down();
    rmSync(build, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(2);
  },
);
