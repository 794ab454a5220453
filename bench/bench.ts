// npm run bench [-- --profile light|heavy] [-- --runs N] [-- --out FILE]
//
// Measures rf-agent's deploys and rollbacks against the "naive" way (git pull + systemctl restart) on
// one disposable server (scripts/server.sh) with the example app, under the same load (scripts/load.mjs)
// for the whole measured run, and checks rf-agent's targets. Every number is measured here; see METHOD
// (also written into the JSON) for what each one is and where it comes from.
//
// This file is the entry: options, then the run in order (boot, unmeasured first deploys, load, the
// rf-agent runs, the naive runs, analysis, report, JSON). The rest, by what it holds: settings.ts
// (settings and METHOD), scenarios.ts (the measured deploy + rollback runs of each phase), naive.ts
// (the naive baseline's install), operations.ts (one measured operation), poller.ts (runs in the
// server) and poller-samples.ts (its answers on the host), load-tap.ts (the load's counters at a
// moment), analysis.ts (windows, totals, ratios, targets), latency.ts (percentiles of the load's
// samples), table.ts (the printed report), report.ts (formatting), timeline.ts and chart.ts (the
// SVG picture), waiting.ts (waits and line readers). The server, load and origin are the lab's
// (scripts/lab), shared with the integration tests and the demo.
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { execa } from "execa";
import { baseConfig, writeAgentConfig } from "../scripts/lab/config.js";
import { startLoad, type Load, type LoadSamples } from "../scripts/lab/load.js";
import { createOrigin, pushVersion } from "../scripts/lab/origin.js";
import { REPO_ROOT, SERVER_SH, TestServer } from "../scripts/lab/server.js";
import {
  addLatency,
  analyse,
  breakdown,
  outsideWindows,
  pooledLatency,
  ratiosOf,
  targetsOf,
  totals,
} from "./analysis.js";
import { timelineSvg } from "./chart.js";
import { onWallClock } from "./latency.js";
import { LoadTap } from "./load-tap.js";
import { asNaive, NAIVE, NAIVE_SITE, naiveUnit, prepareNaive, switchToNaive } from "./naive.js";
import { Bench } from "./operations.js";
import { Poller } from "./poller-samples.js";
import { naiveRuns, rfAgentRuns } from "./scenarios.js";
import { fmtMs } from "./report.js";
import {
  METHOD,
  POLL_MS,
  PREP_VERSION,
  PROFILES,
  READ_ONLY_RUNS,
  SETTLE_MS,
  STEADY_MS,
  SWITCH,
  WARMUP_MS,
  type ProfileName,
} from "./settings.js";
import { READ_ONLY_COMMANDS, readOnlyRuns, readOnlyTargets } from "./readonly.js";
import { reportLines } from "./table.js";
import { timelinePanels } from "./timeline.js";
import { say, sleep, waitFor } from "./waiting.js";

interface Args {
  profile: ProfileName;
  runs: number;
  out: string;
  name: string;
}

function args(): Args {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      profile: { type: "string" },
      runs: { type: "string" },
      out: { type: "string" },
      name: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(
      "usage: npm run bench -- [--profile light|heavy] [--runs N] [--out FILE] [--name SERVER]\n" +
        `  --profile P    the load: light (${PROFILES.light.describe}, default) or heavy (${PROFILES.heavy.describe})\n` +
        "  --runs N       deploy+rollback pairs per phase (default 5)\n" +
        "  --out FILE     JSON results (default bench-results/bench-<profile>-<timestamp>.json; the SVG timeline beside it)\n" +
        "  --name SERVER  disposable server name (default $RF_BENCH_SERVER or rf-bench-<pid>)\n",
    );
    process.exit(0);
  }
  const profile = values.profile ?? "light";
  if (profile !== "light" && profile !== "heavy")
    throw new Error(`--profile must be light or heavy, got ${profile}`);
  const runs = values.runs === undefined ? 5 : Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`--runs must be a whole number >= 1, got ${values.runs}`);
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const out = path.resolve(
    process.env.INIT_CWD ?? process.cwd(),
    values.out ?? path.join("bench-results", `bench-${profile}-${stamp}.json`),
  );
  const name = values.name ?? process.env.RF_BENCH_SERVER ?? `rf-bench-${process.pid}`;
  return { profile, runs, out, name };
}

async function main(): Promise<number> {
  const opts = args();
  const profile = PROFILES[opts.profile];
  const startedAt = new Date();
  const others = (await execa("bash", [SERVER_SH, "list"], { reject: false })).stdout.trim();
  const meta = {
    startedAt: startedAt.toISOString(),
    profile: opts.profile,
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
    load: profile.load,
    pollMs: POLL_MS,
    steadyMs: STEADY_MS,
    settleMs: SETTLE_MS,
    warmupMs: WARMUP_MS,
  };
  say(`profile ${opts.profile}, server ${opts.name}, ${opts.runs} runs; results to ${opts.out}`);
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
    // The server sees this checkout: the load writes its samples where the bench reads them.
    const samplesFile = path.join(build, "load-samples.json");
    load = startLoad(server, { ...profile.load, samples: samplesFile });
    bench.tap = new LoadTap(server, load);
    await bench.tap.started();
    say(`load running; warming up ${WARMUP_MS / 1000} s`);
    await sleep(WARMUP_MS);

    // ---- rf-agent
    await rfAgentRuns(bench, origin, opts.runs, initialVersion);
    const rfEnd = bench.ops.at(-1)?.endSnap ?? (await bench.tap.snapshot());
    const errorLog = () => booted.exec("cat", ["/var/log/nginx/error.log"]).then((r) => r.stdout.split("\n"));
    const rfNginxErrors = (await errorLog()).filter((l) => l.trim() && !l.includes("signal process started"));
    say(
      `read-only commands: ${READ_ONLY_RUNS} rounds of ${READ_ONLY_COMMANDS.map((c) => c.join(" ")).join(", ")}`,
    );
    const readOnly = await readOnlyRuns(booted, READ_ONLY_RUNS);

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
    await naiveRuns(bench, origin, opts.runs, naiveVersion);
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
    const lat = onWallClock(JSON.parse(readFileSync(samplesFile, "utf8")) as LoadSamples, align.startEpoch);
    addLatency(bench.ops, lat);
    const rfOps = bench.ops.filter((o) => o.phase === "rf-agent");
    const nvOps = bench.ops.filter((o) => o.phase === "naive");
    const rfT = totals(rfOps);
    const nvT = totals(nvOps);
    const buckets = outsideWindows(summary, rfOps, nvOps, {
      rfEnd,
      firstNv: bench.tap.snapshots[naiveStartSnapIndex] ?? naiveEnd,
      naiveEnd,
      loadStopAsked,
    });
    const ratios = ratiosOf(rfOps, nvOps);
    const latency = { rfAgent: pooledLatency(rfOps, lat), naive: pooledLatency(nvOps, lat) };
    const targets = [...targetsOf(rfOps, opts.runs, profile, latency.rfAgent), ...readOnlyTargets(readOnly)];
    const parts = {
      deploy: breakdown(rfOps.filter((o) => o.op === "deploy")),
      rollback: breakdown(rfOps.filter((o) => o.op === "rollback")),
    };

    // ---- print
    const out = reportLines({
      profile,
      latency,
      runs: opts.runs,
      server: opts.name,
      cpus: meta.host.cpus,
      health: agentIni.health,
      unmeasuredMs: {
        first: first.wallMs,
        prepDeploy: prepDeploy.wallMs,
        prepRollback: prepRollback.wallMs,
        naiveCloneAndVenv: prep.cloneAndVenvMs,
      },
      alignmentUncertaintyMs: align.uncertaintyMs,
      allOps: bench.ops,
      rfOps,
      nvOps,
      buckets,
      meanStepMs: parts,
      rfNginxErrors: rfNginxErrors.length,
      ratios,
      targets,
    });
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
      rfAgent: { totals: rfT, meanStepMs: parts, operations: rfOps, readOnlyCommands: readOnly },
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
    const svg = opts.out.replace(/\.json$/, "") + ".svg";
    const panels = timelinePanels(bench.ops, lat, bench.poller);
    writeFileSync(
      svg,
      await timelineSvg(panels, {
        title: `One deploy and one rollback: rf-agent against git pull + systemctl restart (${opts.profile} load)`,
        subtitle: `${profile.describe}, through nginx, on a ${meta.host.cpus}-core machine; rf-agent [switch] standby=${SWITCH.standby} s; the sessions' dips are the load closing and reopening them`,
      }),
    );
    process.stdout.write(`timeline: ${svg}\n`);
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
