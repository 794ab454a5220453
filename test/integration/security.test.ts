// The security boundary on a real host (issue #11): each party rf-agent must not trust (the app user,
// code inside a running service, the repository's authors, the webhook listener's user) plants its
// attack; then root runs deploy, rollback, status and doctor. Each ends within its bound with exit 0
// or 1 and a message (no stack trace), the site keeps serving through nginx, and nothing outside the
// app's own tree changes (a snapshot of /etc, /root, /usr/local and /var/lib). Each attack is then
// cleaned up, so the next starts from a healthy host.
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { asUser, inService } from "../support/attacker.js";
import { baseConfig, writeAgentConfig, type ConfigOverrides } from "../../scripts/lab/config.js";
import { createOrigin, EXAMPLE_APP, pushVersion, type Origin } from "../../scripts/lab/origin.js";
import { AGENT_CONFIG, TestServer, type ExecResult } from "../../scripts/lab/server.js";
import {
  changesSince,
  describeChanges,
  restoreSnapshot,
  takeSnapshot,
  type SnapshotChange,
  type SnapshotScope,
} from "../support/snapshot.js";

const APP = "demo";
const ROOT = "/srv/demo";
const USER = "demo";
const DATA_DIR = "/var/lib/demo";
const STATE_DIR = "/var/lib/rf-agent/demo";
/** Where the venv marker used to live, inside the app user's venv. */
const OLD_MARKER = ".rf-agent-install.json";
/** Root-owned files the attacks point their links at; part of the snapshot. */
const CANARY = "/etc/rf-agent-canary";
const DECOY = "/etc/rf-agent-decoy";
const ROOT_ONLY_REPO = "/root/rf-agent-decoy.git";
const SPOOL_TARGET = "/root/rf-agent-spool-target";
/** A pending deploy request, as the listener files them, in a root-only directory. */
const SPOOL_CANARY = `mkdir -p -m 700 ${SPOOL_TARGET}
printf '{"delivery":"canary","after":null,"receivedAt":"2026-01-01T00:00:00.000Z","provider":"github"}\\n' >${SPOOL_TARGET}/1767225600000-0123456789ab.json
chmod 644 ${SPOOL_TARGET}/1767225600000-0123456789ab.json`;
const SPOOL = "/var/lib/private/rf-agent-demo-webhook/spool";
const WEBHOOK_UNIT = "rf-agent-demo-webhook.service";
const SECRET_IN_ETC = "/etc/rf-agent-test-secret";
const BACKUP = "/run/rf-security-backup";
const COLORS = ["blue", "green"] as const;
type Color = (typeof COLORS)[number];

const BOUND_MS = { deploy: 180_000, other: 60_000 };
// An attack runs four bounded commands, two snapshots and a cleanup.
const ATTACK_MS = 900_000;
// Short switches; a schedule that never fires during the tests (install arms the timer).
const CONFIG: ConfigOverrides = {
  switch: { grace: 1, drain: 5, standby: 0, watch: 2 },
  trigger: { schedule: "*-01-01 04:00" },
};

const SCOPE: SnapshotScope = {
  roots: ["/etc", "/root", "/usr/local", "/var/lib"],
  exclude: [
    // The app's own tree and what rf-agent legitimately writes for it: its data directory, its
    // state (history, venv markers, install manifest), its nginx site and live/preview includes, the
    // app's template units and per-color drop-ins. ROOT (/srv/demo) is outside the roots anyway.
    DATA_DIR,
    STATE_DIR,
    `/etc/nginx/rf-agent/${APP}`,
    `/etc/nginx/sites-available/rf-agent-${APP}.conf`,
    `/etc/nginx/sites-enabled/rf-agent-${APP}.conf`,
    `/etc/systemd/system/${APP}-*`,
    // the live color's units, enabled so they start at boot
    `/etc/systemd/system/*.wants/${APP}-*`,
    // DynamicUser= state (the webhook listener's spool and delivery ledger): the listener's own
    // tree, which the spool attack targets from inside; what root does through it lands elsewhere.
    "/var/lib/private",
    // The server's root is an overlay whose lower layer is the machine's own /, so the machine's
    // npm (other engineers' npx runs) shows through here; nothing in the server writes it.
    "/root/.npm",
    // The machine image's toolchains, showing through the same way: a quarter of a million files
    // that nothing in the server uses. Walking them was most of each attack's time (two walks of
    // ~9 s each, and a minute to hash them for the baseline); the attacks aim at /etc and at /root's
    // own files (a decoy repository, a spool target), which stay in scope.
    ...[".pyenv", ".rustup", ".cargo", ".m2", ".cache"].map((d) => `/root/${d}`),
  ],
};

let server: TestServer;
let origin: Origin;
/** The snapshot each attack is judged against: the baseline, or the host as a failed cleanup left it. */
let reference = "baseline";
let versions = 0;
let shadowTokens: string[] = [];

// ---- running rf-agent as root ---------------------------------------------------------------

interface Outcome extends ExecResult {
  command: string;
  boundMs: number;
  ms: number;
  timedOut: boolean;
  /** Processes of this run still alive after it returned (killed by the harness). */
  leftovers: string[];
  /** When killed at its bound: the transient units (git, pip, hooks) running at that moment. */
  transient: string;
}

const RUN_MARK = "RF_SECURITY_TEST_RUN";

/** rf-agent as root, bounded; every process of the run is killed once the bound is reached. */
async function rfAgent(args: string[], boundMs: number, cwd?: string): Promise<Outcome> {
  const mark = randomBytes(8).toString("hex");
  const started = Date.now();
  // Just before the bound, what the run is waiting for: its transient units (git, pip, hooks).
  let transient: Promise<string> = Promise.resolve("");
  const spy = setTimeout(() => {
    transient = server
      .sh(`systemctl list-units --no-legend --plain 'rf-agent-${APP}-*' | grep -v webhook`)
      .then((r) => r.stdout);
  }, boundMs - 3000);
  const r = await server.rfAgent(args, {
    timeoutMs: boundMs,
    env: { [RUN_MARK]: mark },
    ...(cwd ? { cwd } : {}),
  });
  clearTimeout(spy);
  const ms = Date.now() - started;
  const timedOut = ms >= boundMs;
  return {
    ...r,
    command: `rf-agent ${args.join(" ")}${cwd ? ` (in ${cwd})` : ""}`,
    boundMs,
    ms,
    timedOut,
    transient: timedOut ? await transient : "",
    leftovers: await killMarked(mark),
  };
}

/** Kills (by pid) what still runs with this run's mark in its environment; returns what it found. */
async function killMarked(mark: string): Promise<string[]> {
  const script = `for p in /proc/[0-9]*; do
  if tr '\\0' '\\n' <"$p/environ" 2>/dev/null | grep -qxF "$1"; then
    pid=\${p#/proc/}; echo "$pid $(tr '\\0' ' ' <"$p/cmdline" 2>/dev/null | cut -c1-120)"; kill -KILL "$pid" 2>/dev/null
  fi
done; true`;
  const r = await server.exec("bash", ["-c", script, "kill-marked", `${RUN_MARK}=${mark}`]);
  return r.stdout.split("\n").filter(Boolean);
}

function tail(text: string, lines = 15): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

function show(o: Outcome): string {
  return `--- stderr\n${tail(o.stderr)}\n--- stdout\n${tail(o.stdout)}`;
}

/** What is wrong with how a command ended: bound, exit code, message, stack traces, leftovers. */
function judge(o: Outcome, allowed: number[] = [0, 1]): string[] {
  const problems: string[] = [];
  if (o.timedOut)
    problems.push(
      `${o.command} did not finish within ${o.boundMs / 1000} s (killed)\n${show(o)}\n--- transient units then\n${o.transient.trim() || "(none)"}`,
    );
  else if (!allowed.includes(o.exitCode))
    problems.push(`${o.command} exited ${o.exitCode}, expected ${allowed.join(" or ")}\n${show(o)}`);
  const out = `${o.stdout}\n${o.stderr}`;
  // A stack trace printed, or one inside a JSON log line.
  if (/^ {4}at /m.test(out) || /\\n\s+at /.test(out) || /"stack"\s*:/.test(out))
    problems.push(`${o.command} printed a stack trace\n${show(o)}`);
  if (!o.timedOut && o.exitCode === 1 && /deploy|rollback/.test(o.command) && !/fix:/.test(o.stderr))
    problems.push(`${o.command} failed without a message saying what to do (no "fix:")\n${show(o)}`);
  if (!o.timedOut && o.exitCode !== 0 && out.trim() === "")
    problems.push(`${o.command} exited ${o.exitCode} without a word`);
  if (o.leftovers.length)
    problems.push(`${o.command} left processes running after it returned:\n${o.leftovers.join("\n")}`);
  return problems;
}

function summary(o: Outcome): string {
  const line = tail(o.exitCode === 0 ? o.stdout : o.stderr || o.stdout, 1);
  return `${o.command}: ${o.timedOut ? "killed at its bound" : `exit ${o.exitCode}`} in ${(o.ms / 1000).toFixed(1)} s: ${line.slice(0, 200)}`;
}

// ---- the site ---------------------------------------------------------------------------------

/** Problems with the site through nginx: / and /api/health must answer 200. */
async function serving(when: string): Promise<string[]> {
  const problems: string[] = [];
  for (const url of ["/", "/api/health"]) {
    const r = await server.curl(url);
    if (r.status !== 200)
      problems.push(
        `${when}: GET ${url} through nginx answered ${r.status || r.error}: ${r.body.slice(0, 300)}`,
      );
  }
  return problems;
}

async function served(): Promise<{ version: string; color: Color } | null> {
  const r = await server.curl("/api/version");
  return r.status === 200 ? (JSON.parse(r.body) as { version: string; color: Color }) : null;
}

/** The color nginx serves (asked through nginx; the live include if nothing answers). */
async function liveColor(): Promise<Color> {
  const s = await served();
  if (s) return s.color;
  const include = await server.sh(`cat /etc/nginx/rf-agent/${APP}/live.conf`);
  const color = COLORS.find((c) => include.stdout.includes(c));
  if (!color) throw new Error(`cannot tell the live color: ${include.stdout} ${include.stderr}`);
  return color;
}

function idle(color: Color): Color {
  return color === "blue" ? "green" : "blue";
}

// ---- shell helpers ---------------------------------------------------------------------------

/** A root script that must succeed. */
async function root(script: string): Promise<string> {
  const r = await server.sh(`set -euo pipefail\n${script}`);
  if (r.exitCode !== 0) throw new Error(`root script failed (exit ${r.exitCode}):\n${script}\n${r.stderr}`);
  return r.stdout;
}

/** What an attacker's script did, for the test's log: its exit and output. */
function attempt(what: string, r: ExecResult): string {
  const said = `${r.stdout}\n${r.stderr}`.trim().replace(/\s*\n\s*/g, " | ");
  return `${what}: ${r.exitCode === 0 ? "done" : `refused (exit ${r.exitCode})`}${said ? `: ${said.slice(0, 300)}` : ""}`;
}

/** Commits in the origin's work clone with a script (cwd = the clone), pushes, returns the sha. */
async function commitInOrigin(script: string, message: string): Promise<string> {
  const r = await server.exec(
    "bash",
    [
      "-c",
      `set -euo pipefail\ncd "$1"\n${script}\ngit add -A\ngit commit -q -m "$2"\ngit push -q origin main\nchmod -R a+rX -- "$(git remote get-url origin)"\ngit rev-parse HEAD`,
      "commit",
      origin.work,
      message,
    ],
    {
      env: {
        GIT_AUTHOR_NAME: "attacker",
        GIT_AUTHOR_EMAIL: "attacker@rf-agent.invalid",
        GIT_COMMITTER_NAME: "attacker",
        GIT_COMMITTER_EMAIL: "attacker@rf-agent.invalid",
      },
    },
  );
  if (r.exitCode !== 0) throw new Error(`commit in origin failed: ${r.stderr}`);
  return r.stdout.trim().split("\n").at(-1) ?? "";
}

/** Root's copy of both checkouts and venv markers, so a cleanup can put back what an attack broke. */
async function backUpCheckouts(): Promise<void> {
  await root(`rm -rf ${BACKUP} && mkdir -m 700 ${BACKUP}
for c in ${COLORS.join(" ")}; do
  if [ -d ${ROOT}/$c ] && [ ! -L ${ROOT}/$c ]; then cp -a ${ROOT}/$c ${BACKUP}/$c; fi
  m=${ROOT}/venvs/$c/${OLD_MARKER}
  if [ -f "$m" ] && [ ! -L "$m" ]; then cp -a "$m" ${BACKUP}/$c.marker; fi
done`);
}

/** Puts a color's checkout back from the backup if its directory or .git is not what it was. */
async function restoreCheckout(color: Color): Promise<void> {
  await root(`c=${ROOT}/${color}
broken=
if [ -L "$c" ] || [ ! -d "$c" ]; then broken=dir
elif [ -L "$c/.git" ] || [ ! -d "$c/.git" ] || [ -p "$c/.git/HEAD" ] || [ ! -f "$c/.git/HEAD" ] ||
  [ -p "$c/.git/config" ] || [ ! -f "$c/.git/config" ]; then broken=git
fi
if [ -n "$broken" ] && [ -d ${BACKUP}/${color} ]; then
  # a FIFO someone may still be blocked on: open its other end so they see EOF
  for f in "$c/.git/HEAD" "$c/.git/config"; do [ -p "$f" ] && timeout 2 sh -c ': >"$1"' sh "$f" || true; done
  if [ "$broken" = dir ]; then rm -rf -- "$c"; cp -a ${BACKUP}/${color} "$c"
  else rm -rf -- "$c/.git"; cp -a ${BACKUP}/${color}/.git "$c/.git"; fi
fi`);
}

// ---- one attack -------------------------------------------------------------------------------

interface Attack {
  /** Plants the attack; returns what the attacker managed and what was refused. */
  plant(): Promise<string[]>;
  /** Undoes the attack; the snapshot is put back and the site checked after it. */
  cleanup(): Promise<void>;
  /** Working directory of root's commands. */
  cwd?: string;
  /** Checks after one of root's commands (e.g. live untouched by a failed deploy). */
  after?(command: string, outcome: Outcome, liveBefore: string | null): Promise<string[]>;
  /** Checks once all commands ran. */
  check?(): Promise<string[]>;
  /** Changes outside the app's tree this attack's own steps make legitimately (install's files). */
  allowed?(change: SnapshotChange): boolean;
}

/** Plants, runs root's commands, judges them, cleans up; fails listing every problem found. */
async function play(name: string, attack: Attack): Promise<void> {
  const problems: string[] = [];
  const log: string[] = [];
  await backUpCheckouts();
  try {
    log.push(...(await attack.plant()).map((l) => `attacker: ${l}`));
    for (const command of ["deploy", "rollback", "status", "doctor"]) {
      // a new commit, so the deploy has work to do (requirements unchanged: no pip)
      if (command === "deploy") await pushVersion(server, origin, `sec-${++versions}`);
      const before = await served();
      const o = await rfAgent([command], command === "deploy" ? BOUND_MS.deploy : BOUND_MS.other, attack.cwd);
      log.push(summary(o));
      problems.push(...judge(o), ...(await serving(`after ${o.command}`)));
      if (attack.after)
        problems.push(...(await attack.after(command, o, before && `${before.version}/${before.color}`)));
    }
    if (attack.check) problems.push(...(await attack.check()));
    const changes = (await changesSince(server, reference, SCOPE)).filter((c) => !attack.allowed?.(c));
    if (changes.length)
      problems.push(
        `changed outside the app's tree (vs snapshot "${reference}"):\n${describeChanges(changes)}`,
      );
  } finally {
    try {
      await attack.cleanup();
    } catch (e) {
      problems.push(`cleanup failed: ${(e as Error).message}`);
    }
    problems.push(...(await heal()));
    console.log(
      `[security] ${name}\n  ${log.join("\n  ")}${problems.length ? `\n  ${problems.length} problem(s)` : "\n  ok"}`,
    );
  }
  expect(problems.length, `${name}:\n\n${problems.join("\n\n")}\n\n${log.join("\n")}\n`).toBe(0);
}

/**
 * Back to a healthy host after an attack: owners and modes outside the app's tree as in the
 * reference (what cannot be put back becomes the new reference, so the next attack is judged on its
 * own), the checkouts sound, the site serving.
 */
async function heal(): Promise<string[]> {
  const problems: string[] = [];
  const restored = await restoreSnapshot(server, reference, SCOPE);
  if (restored.restored.length || restored.removed.length)
    console.log(
      `[security] heal: put back ${[...restored.restored, ...restored.removed.map((p) => `removed ${p}`)].join("; ")}`,
    );
  if (restored.left.length) {
    problems.push(
      `could not put back (the next attacks are judged against the host as it is now):\n${restored.left.join("\n")}`,
    );
    reference = `reference-${Date.now()}`;
    await takeSnapshot(server, reference, SCOPE);
  }
  for (const color of COLORS) await restoreCheckout(color);
  if ((await serving("after cleanup")).length) {
    // Not rf-agent's doing to judge any more: get the live color serving for the next attack.
    const color = await liveColor();
    await server.exec("systemctl", ["restart", `${APP}-api@${color}.service`, `${APP}-web@${color}.service`]);
    for (let i = 0; i < 90 && (await serving("")).length; i++) await new Promise((r) => setTimeout(r, 1000));
    const still = await serving(`after restarting ${color}'s units`);
    if (still.length)
      problems.push(`the site could not be brought back after this attack: ${still.join("; ")}`);
  }
  return problems;
}

// ---- setup ------------------------------------------------------------------------------------

/** Runs `rf-agent install` with its bound and judges it; problems listed. */
async function install(): Promise<{ outcome: Outcome; problems: string[] }> {
  const outcome = await rfAgent(["install"], BOUND_MS.other);
  return { outcome, problems: judge(outcome, [0]) };
}

/**
 * What install adds legitimately: its units and their enablement links, the secret it generated,
 * and what systemd makes for them (the listener's StateDirectory= link into /var/lib/private, the
 * timer's Persistent= stamp).
 */
function installFile(change: SnapshotChange, secretFile: string): boolean {
  return (
    change.before === null &&
    (change.path === secretFile ||
      /^\/etc\/systemd\/system\/([^/]+\.wants\/)?rf-agent-demo-[^/]+$/.test(change.path) ||
      /^\/etc\/systemd\/system\/[^/]+\.wants$/.test(change.path) ||
      change.path === "/var/lib/rf-agent-demo-webhook" ||
      /^\/var\/lib\/systemd\/timers\/stamp-rf-agent-demo-[^/]+$/.test(change.path))
  );
}

// RF_AGENT_BUILD=DIR runs the suite against another build of rf-agent (a checkout with dist/ built),
// e.g. a copy of the last commit while the working tree is mid-change.
const BUILD = process.env.RF_AGENT_BUILD;

beforeAll(async () => {
  server = await TestServer.up(undefined, BUILD ? { binds: [BUILD] } : {});
  if (BUILD) await root(`umount /opt/rf-agent && mount --bind ${BUILD} /opt/rf-agent`);
  origin = await createOrigin(server);
  await pushVersion(server, origin, "1.0.0");
  await writeAgentConfig(server, CONFIG);
  // Both colors deployed once before the baseline: both checkouts and venvs exist (pip ran for
  // each), so no attack's deploy needs pip (each commit only changes VERSION).
  for (const version of ["1.0.0", "1.0.1"]) {
    if (version !== "1.0.0") await pushVersion(server, origin, version);
    const r = await server.rfAgent(["deploy"], { timeoutMs: 600_000 });
    if (r.exitCode !== 0)
      throw new Error(`setup: deploy of ${version} exited ${r.exitCode}:\n${tail(r.stderr, 40)}`);
  }
  // Root-owned targets for the attackers' links, and a recognisable line in /etc/shadow (a user
  // that cannot log in) so a leak of its content can be searched for.
  const token = randomBytes(16).toString("hex");
  await root(`printf 'rf-agent canary: root wrote through a link if this changed\\n' >${CANARY}
chmod 644 ${CANARY}
rm -rf ${DECOY} && cp -a ${ROOT}/green ${DECOY} && chown -R root:root ${DECOY} && chmod -R go-w ${DECOY}
rm -rf ${ROOT_ONLY_REPO} && cp -a ${ROOT}/green/.git ${ROOT_ONLY_REPO} && chown -R root:root ${ROOT_ONLY_REPO} && chmod 700 ${ROOT_ONLY_REPO}
${SPOOL_CANARY}
grep -q '^rfsecuritycanary:' /etc/shadow || echo 'rfsecuritycanary:$6$${token}$${token}${token}:20000:0:99999:7:::' >>/etc/shadow`);
  const shadow = await server.readFile("/etc/shadow");
  const canaryLine = shadow.split("\n").find((l) => l.startsWith("rfsecuritycanary:")) ?? "";
  // What would give the content away: the canary line's secret part, the file's sha256, and the
  // venv marker's hash of it as rf-agent computes it (requirements, python identity, pip args).
  const identity = (
    await server.exec("/usr/bin/python3", [
      "-I",
      "-c",
      "import sys; print(sys.version.split()[0], sys.executable)",
    ])
  ).stdout.trim();
  const pipArgs = String(baseConfig().app?.pip_args ?? "").split(/\s+/);
  shadowTokens = [
    canaryLine.split("$")[2] ?? token,
    createHash("sha256").update(shadow).digest("hex"),
    createHash("sha256")
      .update(JSON.stringify([shadow, identity, pipArgs]))
      .digest("hex"),
  ];
  await takeSnapshot(server, "baseline", SCOPE);
}, ATTACK_MS);

afterAll(async () => {
  await server?.down();
});

// ---- the attacks ------------------------------------------------------------------------------

describe("the app user", () => {
  it(
    "a. swaps ROOT/venvs for a symlink to /etc",
    async () => {
      await play("a. app user: ROOT/venvs -> /etc", {
        plant: async () => [
          attempt(
            `mv ${ROOT}/venvs ${ROOT}/v; ln -s /etc ${ROOT}/venvs`,
            await asUser(server, USER, `mv ${ROOT}/venvs ${ROOT}/v && ln -s /etc ${ROOT}/venvs`),
          ),
        ],
        cleanup: () => putBackVenvs(),
      });
    },
    ATTACK_MS,
  );

  it(
    "c. replaces the idle checkout's .git with a symlink to /etc",
    async () => {
      const color = idle(await liveColor());
      await play(`c. app user: ${ROOT}/${color}/.git -> /etc`, {
        plant: async () => [
          attempt(
            `${color}/.git -> /etc`,
            await asUser(server, USER, `cd ${ROOT}/${color} && rm -rf .git && ln -s /etc .git`),
          ),
        ],
        cleanup: () => restoreCheckout(color),
      });
    },
    ATTACK_MS,
  );

  it(
    "c. replaces the idle checkout's .git with a symlink to a root-only repository",
    async () => {
      const color = idle(await liveColor());
      await play(`c. app user: ${ROOT}/${color}/.git -> ${ROOT_ONLY_REPO} (root-only)`, {
        plant: async () => [
          attempt(
            `${color}/.git -> ${ROOT_ONLY_REPO}`,
            await asUser(server, USER, `cd ${ROOT}/${color} && rm -rf .git && ln -s ${ROOT_ONLY_REPO} .git`),
          ),
        ],
        cleanup: () => restoreCheckout(color),
      });
    },
    ATTACK_MS,
  );

  it(
    "c. replaces the idle checkout's directory with a symlink to a root-owned checkout",
    async () => {
      const color = idle(await liveColor());
      await play(`c. app user: ${ROOT}/${color} -> ${DECOY}`, {
        plant: async () => [
          attempt(
            `mv ${ROOT}/${color} aside; ln -s ${DECOY} ${ROOT}/${color}`,
            await asUser(
              server,
              USER,
              `mv ${ROOT}/${color} ${ROOT}/${color}.moved && ln -s ${DECOY} ${ROOT}/${color}`,
            ),
          ),
        ],
        cleanup: async () => {
          await root(`if [ -L ${ROOT}/${color} ]; then rm -f ${ROOT}/${color}; fi
if [ -d ${ROOT}/${color}.moved ]; then
  if [ -e ${ROOT}/${color} ]; then rm -rf ${ROOT}/${color}.moved; else mv ${ROOT}/${color}.moved ${ROOT}/${color}; fi
fi`);
          await restoreCheckout(color);
        },
      });
    },
    ATTACK_MS,
  );

  it(
    "d. makes the venv marker's old place a symlink to a file in /etc",
    async () => {
      await play(`d. app user: ROOT/venvs/COLOR/${OLD_MARKER} -> ${CANARY}`, {
        plant: async () => {
          const notes: string[] = [];
          for (const color of COLORS)
            notes.push(
              attempt(
                `${color} marker -> ${CANARY}`,
                await asUser(server, USER, `ln -sfn ${CANARY} ${ROOT}/venvs/${color}/${OLD_MARKER}`),
              ),
            );
          return notes;
        },
        cleanup: async () => {
          for (const color of COLORS)
            await root(`m=${ROOT}/venvs/${color}/${OLD_MARKER}
if [ -L "$m" ]; then rm -f "$m"; if [ -f ${BACKUP}/${color}.marker ]; then cp -a ${BACKUP}/${color}.marker "$m"; fi; fi`);
        },
      });
    },
    ATTACK_MS,
  );

  it(
    "e. puts a FIFO at .git/HEAD of the live and the idle checkout: every command ends within its bound",
    async () => {
      await play("e. app user: FIFO at ROOT/COLOR/.git/HEAD (both colors)", {
        plant: async () => {
          const notes: string[] = [];
          for (const color of COLORS)
            notes.push(
              attempt(
                `mkfifo ${color}/.git/HEAD`,
                await asUser(server, USER, `cd ${ROOT}/${color}/.git && mv HEAD HEAD.moved && mkfifo HEAD`),
              ),
            );
          return notes;
        },
        cleanup: async () => {
          for (const color of COLORS) await restoreCheckout(color);
          await root(`rm -f ${COLORS.map((c) => `${ROOT}/${c}/.git/HEAD.moved`).join(" ")}`);
        },
      });
    },
    ATTACK_MS,
  );

  it(
    "e. puts a FIFO at .git/config of the idle checkout: every command ends within its bound",
    async () => {
      const color = idle(await liveColor());
      await play(`e. app user: FIFO at ${ROOT}/${color}/.git/config`, {
        plant: async () => [
          attempt(
            `mkfifo ${color}/.git/config`,
            await asUser(server, USER, `cd ${ROOT}/${color}/.git && mv config config.moved && mkfifo config`),
          ),
        ],
        cleanup: async () => {
          await restoreCheckout(color);
          await root(`rm -f ${ROOT}/${color}/.git/config.moved`);
        },
      });
    },
    ATTACK_MS,
  );

  it(
    "g. leaves a venv.py in the directory root runs doctor from: it never runs",
    async () => {
      const dir = "/tmp/rf-security-cwd";
      const payload = (module: string) =>
        `import os\nwith open("/root/pwned", "a") as f: f.write("${module}.py ran as uid %d\\n" % os.getuid())\n`;
      await play(`g. app user: venv.py and ensurepip.py in root's working directory`, {
        cwd: dir,
        plant: async () => {
          await server.writeFile(`${dir}/venv.py`, payload("venv"));
          await server.writeFile(`${dir}/ensurepip.py`, payload("ensurepip"));
          await root(`chown -R ${USER}:${USER} ${dir}`);
          return [`planted ${dir}/venv.py and ensurepip.py (owned by ${USER})`];
        },
        after: async (command) => {
          // removed, so that the next command is judged on its own
          const r = await server.sh("cat /root/pwned 2>/dev/null && rm -f /root/pwned");
          return r.exitCode === 0
            ? [`rf-agent ${command} ran the planted module as root (/root/pwned):\n${r.stdout}`]
            : [];
        },
        cleanup: async () => {
          await root(`rm -rf ${dir} /root/pwned`);
        },
      });
    },
    ATTACK_MS,
  );
});

describe("code running inside a service", () => {
  it(
    "b. swaps ROOT/venvs for a symlink to /etc and writes the checkout and venv",
    async () => {
      const color = await liveColor();
      const unit = `${APP}-api@${color}.service`;
      await play(`b. inside ${unit}: ROOT/venvs -> /etc, writes to checkout and venv`, {
        plant: async () => [
          attempt(
            `write ${ROOT}/${color}/pwned`,
            await inService(server, unit, `echo pwned >${ROOT}/${color}/pwned`),
          ),
          attempt(
            `write ${ROOT}/venvs/${color}/pwned`,
            await inService(server, unit, `echo pwned >${ROOT}/venvs/${color}/pwned`),
          ),
          attempt(
            `mv ${ROOT}/venvs ${ROOT}/v; ln -s /etc ${ROOT}/venvs`,
            await inService(server, unit, `mv ${ROOT}/venvs ${ROOT}/v && ln -s /etc ${ROOT}/venvs`),
          ),
        ],
        cleanup: async () => {
          await putBackVenvs();
          await root(`rm -f ${ROOT}/${color}/pwned ${ROOT}/venvs/${color}/pwned`);
        },
      });
    },
    ATTACK_MS,
  );
});

describe("the repository's authors", () => {
  it(
    "f. commit a requirements.txt that is a symlink to /etc/shadow",
    async () => {
      const original = readFileSync(path.join(EXAMPLE_APP, "requirements.txt"), "utf8");
      await play("f. repository: requirements.txt -> /etc/shadow", {
        plant: async () => {
          const sha = await commitInOrigin(
            "rm -f requirements.txt && ln -s /etc/shadow requirements.txt",
            "requirements from shadow",
          );
          return [`pushed ${sha.slice(0, 12)}: requirements.txt -> /etc/shadow`];
        },
        after: async (command, o, liveBefore) => {
          if (command !== "deploy" || o.exitCode === 0) return [];
          const now = await served();
          const liveAfter = now && `${now.version}/${now.color}`;
          return liveAfter === liveBefore
            ? []
            : [`the failed deploy changed what is live: ${liveBefore} -> ${liveAfter}`];
        },
        check: async () => {
          // Every file the app user can read, searched for the shadow file's content or its hashes.
          const r = await asUser(
            server,
            USER,
            `timeout 150 grep -rlsF -D skip ${shadowTokens.map((t) => `-e ${t}`).join(" ")} /srv /var /tmp /run /etc /home /opt/pypi 2>/dev/null; true`,
            { timeoutMs: 180_000 },
          );
          const found = r.stdout.split("\n").filter(Boolean);
          return found.length
            ? [`files the app user can read hold /etc/shadow's content or hash:\n${found.join("\n")}`]
            : [];
        },
        cleanup: async () => {
          await server.writeFile(`${origin.work}/requirements.txt.new`, original);
          await commitInOrigin(
            "rm -f requirements.txt && mv requirements.txt.new requirements.txt",
            "requirements back",
          );
        },
      });
    },
    ATTACK_MS,
  );
});

describe("root's own configuration", () => {
  it(
    "h. install with [webhook] secret_file in /etc leaves /etc as it was",
    async () => {
      const extra: Outcome[] = [];
      await play(`h. install with secret_file = ${SECRET_IN_ETC}`, {
        plant: async () => {
          await writeAgentConfig(server, { ...CONFIG, webhook: { secret_file: SECRET_IN_ETC } });
          const { outcome } = await install();
          extra.push(outcome);
          const etc = await server.sh("stat -c '%U:%G %a' /etc");
          return [summary(outcome), `/etc is now ${etc.stdout.trim()}`];
        },
        check: async () => extra.flatMap((o) => judge(o, [0])),
        // agent.ini is this test's own change (put back by the cleanup)
        allowed: (c) => installFile(c, SECRET_IN_ETC) || c.path === AGENT_CONFIG,
        cleanup: async () => {
          await uninstall();
          await root(`rm -f ${SECRET_IN_ETC}`);
          await writeAgentConfig(server, CONFIG);
        },
      });
    },
    ATTACK_MS,
  );
});

describe("the webhook listener's user", () => {
  it(
    "i. swaps its spool for a symlink to a root-only directory",
    async () => {
      const defaultSecret = "/etc/rf-agent/webhook.secret";
      const deployUnit = "rf-agent-demo-deploy@webhook.service";
      await play(`i. listener: spool -> ${SPOOL_TARGET}`, {
        plant: async () => {
          const { outcome, problems } = await install();
          if (problems.length) throw new Error(`install failed, nothing to attack:\n${problems.join("\n")}`);
          const inside = "/var/lib/rf-agent-demo-webhook";
          const r = await inService(
            server,
            WEBHOOK_UNIT,
            `cd ${inside} && mv spool spool.moved && ln -s ${SPOOL_TARGET} spool`,
          );
          // The .path unit may start the deploy unit by itself now; start it too, bounded.
          const started = await server.exec("timeout", ["180", "systemctl", "start", deployUnit]);
          const result = await server.sh(
            `systemctl show -p Result -p ExecMainStatus --value ${deployUnit} | tr '\\n' ' '`,
          );
          return [
            summary(outcome),
            attempt(`spool -> ${SPOOL_TARGET}`, r),
            `systemctl start ${deployUnit}: exit ${started.exitCode}, ${result.stdout.trim()}`,
          ];
        },
        allowed: (c) => installFile(c, defaultSecret),
        cleanup: async () => {
          await root(`if [ -L ${SPOOL} ]; then rm -f ${SPOOL}; fi
if [ -d ${SPOOL}.moved ]; then if [ -e ${SPOOL} ]; then rm -rf ${SPOOL}.moved; else mv ${SPOOL}.moved ${SPOOL}; fi; fi`);
          await uninstall();
          await root(`rm -f ${defaultSecret}\n${SPOOL_CANARY}`);
        },
      });
    },
    ATTACK_MS,
  );
});

describe("the services' view of the host", () => {
  it(
    "a service cannot write its checkout or its venv, and can write its data directory",
    async () => {
      const color = await liveColor();
      const problems: string[] = [];
      for (const service of ["api", "web"]) {
        const unit = `${APP}-${service}@${color}.service`;
        const targets = [
          `${ROOT}/${color}/.rf-write-test`,
          `${ROOT}/${color}/backend/.rf-write-test`,
          `${ROOT}/${color}/Home.py`,
          `${ROOT}/venvs/${color}/.rf-write-test`,
          `${ROOT}/venvs/${color}/bin/.rf-write-test`,
          `${ROOT}/venvs/${color}/pyvenv.cfg`,
          `${ROOT}/venvs/.rf-write-test`,
          `${ROOT}/.rf-write-test`,
        ];
        // touch: creates a new file, or only updates an existing one's times
        const r = await inService(
          server,
          unit,
          `for p in ${targets.join(" ")}; do if touch "$p" 2>/dev/null; then echo "WROTE $p"; else echo "REFUSED $p"; fi; done
f=${DATA_DIR}/.rf-write-test-${service}
if echo ok >"$f" && [ "$(cat "$f")" = ok ] && rm -f "$f"; then echo "DATA OK"; else echo "DATA FAILED"; fi`,
        );
        const wrote = r.stdout.split("\n").filter((l) => l.startsWith("WROTE "));
        if (wrote.length) problems.push(`${unit} could write: ${wrote.map((l) => l.slice(6)).join(", ")}`);
        if (!r.stdout.includes("DATA OK"))
          problems.push(`${unit} could not write its data directory ${DATA_DIR}:\n${r.stdout}\n${r.stderr}`);
      }
      // put back what a write that should have failed left behind
      await root(
        `for f in $(find ${ROOT} -maxdepth 4 -name .rf-write-test 2>/dev/null); do rm -f "$f"; done`,
      );
      expect(problems.length, problems.join("\n")).toBe(0);
    },
    ATTACK_MS,
  );
});

/** The venvs directory back where it was after a swap, whoever did it. */
async function putBackVenvs(): Promise<void> {
  await root(`if [ -d ${ROOT}/v ] && [ ! -L ${ROOT}/v ]; then
  if [ -L ${ROOT}/venvs ]; then rm -f ${ROOT}/venvs; elif [ -d ${ROOT}/venvs ]; then rm -rf ${ROOT}/venvs; fi
  mv ${ROOT}/v ${ROOT}/venvs
fi`);
}

async function uninstall(): Promise<void> {
  const o = await rfAgent(["uninstall"], BOUND_MS.other);
  if (o.timedOut || o.exitCode !== 0) throw new Error(`uninstall: ${summary(o)}\n${show(o)}`);
}
