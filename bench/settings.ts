// The bench's settings: agent.ini's [switch], the load, the poll interval, the pauses, the targets,
// and METHOD, what every number is and where it comes from (also written into the JSON).
import type { LoadOptions } from "../scripts/lab/load.js";

/** [switch] of agent.ini: standby 120 s so every rollback finds the old color still warm. */
export const SWITCH = { grace: 2, drain: 15, standby: 120, watch: 3 } as const;
export type ProfileName = "light" | "heavy";

/** A load profile: the load for the whole measured run, and the targets that hold under it. */
export interface Profile {
  name: ProfileName;
  /** HTTP to both services + Streamlit websocket sessions, for the whole measured run. */
  load: LoadOptions;
  describe: string;
  /** rollback within standby, command start to old version served: this statistic below this many ms */
  rollback: { stat: "median" | "p95"; belowMs: number };
}

export const PROFILES: Record<ProfileName, Profile> = {
  light: {
    name: "light",
    load: { rps: 20, sessions: 4, sessionMin: 2, sessionMax: 6 },
    describe: "20 req/s + 4 Streamlit sessions (2-6 s each)",
    rollback: { stat: "median", belowMs: 500 },
  },
  heavy: {
    name: "heavy",
    // Each connection sends its next request as soon as the last is answered: as much as the host takes.
    load: { rps: 0, connections: 8, sessions: 10, sessionMin: 5, sessionMax: 15 },
    describe: "8 connections back to back (a closed loop) + 10 Streamlit sessions (5-15 s each)",
    rollback: { stat: "p95", belowMs: 1000 },
  },
};

export const POLL_MS = 50;
/** Quiet time after an operation is done and serving before the next one starts. */
export const SETTLE_MS = 2000;
/** Quiet load before each operation's command: its steady-state latency. */
export const STEADY_MS = 1500;
/** The second around a switch: from this long before the switch step starts ... */
export const AROUND_SWITCH_BEFORE_MS = 250;
/** ... to this long after it starts (or the step's end, if later). */
export const AROUND_SWITCH_AFTER_MS = 750;
/** p99 around a switch may be at most this many times the steady state's. */
export const SWITCH_P99_FACTOR = 2;
/** The longest stretch of a deploy or rollback that no step of its history names. */
export const UNNAMED_GAP_TARGET_MS = 100;
export const WARMUP_MS = 5000;
export const READY_TIMEOUT_MS = 180_000;
/** code-only deploy: command start to new version served, minus the app's own start-to-first-healthy */
export const DEPLOY_OVERHEAD_TARGET_MS = 1000;
export const TRIGGER = { RF_AGENT_TRIGGER: "bench" };
/** `status`, `history` and `logs -n 20`: runs of each, their median wall time and peak memory below these. */
export const READ_ONLY_RUNS = 10;
export const READ_ONLY_BELOW_MS = 250;
export const READ_ONLY_BELOW_MB = 70;
/** Deployed to the other color (and rolled back) before the measured runs, so it has its venv. */
export const PREP_VERSION = "1.1.0";

export const METHOD = [
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
  `Profiles: light = ${PROFILES.light.describe} (load.mjs --rps, paced on a shared keep-alive pool); heavy = ${PROFILES.heavy.describe} (load.mjs --connections: each connection sends its next request when the last is answered, over its own keep-alive socket). The endpoints rotate over /api/version, /api/items, POST /api/echo, / (Streamlit's page) and /_stcore/health.`,
  `Latency: load.mjs records every request's send time, latency (send to the whole answer) and outcome (--samples). Steady state: the requests sent in the ${STEADY_MS} ms before each command starts (the bench waits that long, under load, before each command). Around the switch: the requests sent from ${AROUND_SWITCH_BEFORE_MS} ms before rf-agent's 'switch nginx' step starts to ${AROUND_SWITCH_AFTER_MS} ms after (or to the step's end, if later); for the naive way the command's start stands for the switch. Percentiles are nearest-rank over the answered requests; the target compares the windows of all rf-agent operations pooled.`,
  "App's own start to first healthy: from the start of rf-agent's 'start' step (systemctl start) to the first answer of the passing streak of the slowest service (the 'health' step's log line gives firstHealthy per service, ms from the step's start). Deploy overhead = command start to new version served (poller) minus that.",
  `Unnamed time: from \`rf-agent history --json\`: each step's start (at) and duration (ms); the longest stretch of the run (0 to its ms) that no step covers. The process's start-up before the run is its own field (startupMs).`,
  "Medians and p95 are nearest-rank over the operations of one kind (p95 of 5 runs is their largest).",
  `Read-only commands: after the rf-agent runs, under the same load, with both colors running (the warm standby), ${READ_ONLY_RUNS} rounds of \`rf-agent status\`, \`history\` and \`logs -n 20\` run inside the server (no nsenter): wall time from bash's $EPOCHREALTIME around the command, peak memory from GNU time's %M (maximum resident set size). The targets take each command's median time and its largest peak.`,
];
