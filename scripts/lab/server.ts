// A disposable systemd + nginx server (scripts/server.sh) driven from the host: the lab the integration
// tests, the bench and the demo share. REPO_ROOT is two levels up from here (scripts/lab/).
import { realpathSync } from "node:fs";
import path from "node:path";
import { constants } from "node:os";
import { fileURLToPath } from "node:url";
import { execa, execaSync, type ResultPromise } from "execa";

export const REPO_ROOT = realpathSync(fileURLToPath(new URL("../..", import.meta.url)));
export const SERVER_SH = path.join(REPO_ROOT, "scripts", "server.sh");
export const STATE_ROOT = process.env.RF_SERVER_STATE ?? "/run/rf-agent-test-servers";
export const AGENT_CONFIG = "/etc/rf-agent/agent.ini";
/** Where the server sees this checkout as its installed rf-agent. */
export const AGENT_DIR = "/opt/rf-agent";

// The same clean environment `server.sh exec` gives.
const BASE_ENV = [
  "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  "HOME=/root",
  "LANG=C.UTF-8",
  "TERM=dumb",
];

export interface ExecOptions {
  input?: string;
  env?: Record<string, string>;
  /** Throw when the command exits non-zero (default false). */
  reject?: boolean;
  timeoutMs?: number;
  /** Working directory inside the server (default /). */
  cwd?: string;
  /** Drop one trailing newline from stdout/stderr, as execa does (default true). */
  stripFinalNewline?: boolean;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface SpawnOptions {
  env?: Record<string, string>;
  cwd?: string;
}

export interface CurlOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
}

export interface CurlResult {
  /** 0 when no HTTP answer came (connection refused, timeout). */
  status: number;
  body: string;
  /** curl's complaint when status is 0. */
  error?: string;
}

// Stands between execa and nsenter, which forwards no signals: a signal sent to execa's subprocess
// (or a timeout) goes on to the command inside, and we exit with the command's status. If this shell
// is SIGKILLed, nsenter dies with it and the command gets SIGTERM (the pdeathsigs).
const FORWARD = `setpriv --pdeathsig KILL -- nsenter "$@" <&0 &
n=$!
fwd() { pkill -"$1" -P "$n" || kill -"$1" "$n"; }
trap 'fwd TERM' TERM; trap 'fwd INT' INT; trap 'fwd HUP' HUP
while :; do wait "$n"; rc=$?; kill -0 "$n" 2>/dev/null || exit "$rc"; done`;

// No forced SIGKILL 5 s after kill(): a graceful shutdown under test may take longer.
const SPAWN_OPTIONS = { reject: false, forceKillAfterDelay: false } as const;
export type InnerProcess = ResultPromise<typeof SPAWN_OPTIONS>;

const live = new Set<string>();
let serversMade = 0;

export class TestServer {
  private constructor(
    readonly name: string,
    private initPid: number,
    /** What server.sh said while booting, e.g. that it booted degraded. */
    readonly bootLog: string,
  ) {}

  /** PID of the server's systemd as the host sees it (a new one after each reboot). */
  get pid(): number {
    return this.initPid;
  }

  /** Host directory server.sh keeps this server's state in. */
  get stateDir(): string {
    return path.join(STATE_ROOT, this.name);
  }

  /** Boots a server with the repo bind-mounted at its own path and `rf-agent` on PATH inside. */
  static async up(
    name: string = defaultName(),
    opts: { binds?: string[]; lab?: { name: string; ip: string } } = {},
  ): Promise<TestServer> {
    // A crashed run may have left one of this name behind; up refuses to boot over it.
    await execa("bash", [SERVER_SH, "down", name]);
    live.add(name);
    try {
      const binds = [REPO_ROOT, ...(opts.binds ?? [])].flatMap((dir) => ["--bind", dir]);
      const lab = opts.lab ? ["--lab", opts.lab.name, "--ip", opts.lab.ip] : [];
      const booted = await execa("bash", [SERVER_SH, "up", name, ...binds, ...lab]);
      const pid = Number(booted.stdout.trim().split("\n").at(-1));
      if (!Number.isInteger(pid) || pid <= 1)
        throw new Error(`server.sh up ${name} printed no pid: ${booted.stdout}`);
      const server = new TestServer(name, pid, booted.stderr);
      // rf-agent as a server has it: under /opt, where the sandboxed webhook listener (PrivateTmp,
      // ProtectHome) can read it wherever this checkout is. dist/ may not be built yet; the link is
      // for whenever it is.
      await server.exec("mkdir", ["-p", AGENT_DIR], { reject: true });
      await server.mountAgent();
      await server.exec("ln", ["-sfn", path.join(AGENT_DIR, "dist", "cli.js"), "/usr/local/bin/rf-agent"], {
        reject: true,
      });
      return server;
    } catch (e) {
      await downByName(name);
      throw e;
    }
  }

  /**
   * Reboots the server with its disk and network kept: systemd shuts down (`hard`: is killed, as by
   * a power cut) and a new one boots, starting what is enabled. Resolves once it is up; /run and
   * /tmp start empty, as on a real host. rf-agent's bind mount at /opt/rf-agent is made again
   * after the boot (units that need rf-agent at boot time would not find it in that moment).
   */
  async reboot(opts: { hard?: boolean } = {}): Promise<void> {
    const booted = await execa("bash", [SERVER_SH, "reboot", this.name, ...(opts.hard ? ["--hard"] : [])]);
    const pid = Number(booted.stdout.trim().split("\n").at(-1));
    if (!Number.isInteger(pid) || pid <= 1)
      throw new Error(`server.sh reboot ${this.name} printed no pid: ${booted.stdout}`);
    this.initPid = pid;
    await this.mountAgent();
  }

  /** A power cut: systemd and everything it runs are killed; the disk and the network stay. */
  async stop(): Promise<void> {
    await execa("bash", [SERVER_SH, "stop", this.name]);
  }

  /** Boots a stopped server again (what is enabled starts); resolves once it is up. */
  async start(): Promise<void> {
    const booted = await execa("bash", [SERVER_SH, "start", this.name]);
    const pid = Number(booted.stdout.trim().split("\n").at(-1));
    if (!Number.isInteger(pid) || pid <= 1)
      throw new Error(`server.sh start ${this.name} printed no pid: ${booted.stdout}`);
    this.initPid = pid;
    await this.mountAgent();
  }

  private async mountAgent(): Promise<void> {
    await this.exec("mount", ["--bind", REPO_ROOT, AGENT_DIR], { reject: true });
  }

  /** Stops the server and removes every trace of it from the host; safe to call twice. */
  async down(): Promise<void> {
    await downByName(this.name);
  }

  /** Runs a command as root inside the server with a clean environment. */
  async exec(cmd: string, args: string[] = [], opts: ExecOptions = {}): Promise<ExecResult> {
    const result = await execa("bash", this.innerArgs(cmd, args, opts), {
      reject: false,
      stripFinalNewline: opts.stripFinalNewline ?? true,
      ...(opts.input === undefined ? { stdin: "ignore" as const } : { input: opts.input }),
      ...(opts.timeoutMs === undefined ? {} : { timeout: opts.timeoutMs }),
    });
    const exitCode = result.exitCode ?? 128 + (result.signal ? constants.signals[result.signal] : 0);
    const out = { exitCode, stdout: result.stdout, stderr: result.stderr };
    if (opts.reject && exitCode !== 0) {
      const why = result.timedOut ? `timed out after ${opts.timeoutMs} ms` : `exited ${exitCode}`;
      throw new Error(
        `in server ${this.name}: ${[cmd, ...args].join(" ")} ${why}\n--- stderr\n${tail(out.stderr)}\n--- stdout\n${tail(out.stdout)}`,
      );
    }
    return out;
  }

  /** Runs a bash script inside the server. */
  sh(script: string, opts: ExecOptions = {}): Promise<ExecResult> {
    return this.exec("bash", ["-c", script], opts);
  }

  /**
   * Starts a long-running command inside. kill("SIGTERM"|"SIGINT"|"SIGHUP") on the result reaches the
   * command itself, and the result's exitCode is the command's own.
   */
  spawn(cmd: string, args: string[] = [], opts: SpawnOptions = {}): InnerProcess {
    return execa("bash", this.innerArgs(cmd, args, opts), SPAWN_OPTIONS);
  }

  async readFile(file: string): Promise<string> {
    return (await this.exec("cat", ["--", file], { reject: true, stripFinalNewline: false })).stdout;
  }

  /** Writes atomically, creating parent directories; owned by root. */
  async writeFile(file: string, content: string, mode = 0o644): Promise<void> {
    const script = `set -euo pipefail
mkdir -p -- "$(dirname -- "$1")"
umask 077
tmp=$(mktemp -- "$1.XXXXXX")
cat >"$tmp"
chmod "$2" -- "$tmp"
mv -f -- "$tmp" "$1"`;
    await this.exec("bash", ["-c", script, "write-file", file, mode.toString(8)], {
      input: content,
      reject: true,
    });
  }

  /** An HTTP request through the server's nginx on 127.0.0.1:80. */
  async curl(urlPath: string, opts: CurlOptions = {}): Promise<CurlResult> {
    const absolute = /^https?:\/\//.test(urlPath);
    if (!absolute && !urlPath.startsWith("/"))
      throw new Error(`curl path must start with '/' or be a URL: ${urlPath}`);
    const args = [
      "-sS",
      "-o",
      "-",
      "-w",
      "\n%{http_code}",
      "--max-time",
      String((opts.timeoutMs ?? 10_000) / 1000),
    ];
    if (opts.method) args.push("-X", opts.method);
    for (const [key, value] of Object.entries(opts.headers ?? {})) args.push("-H", `${key}: ${value}`);
    if (opts.body !== undefined) args.push("--data-binary", "@-");
    args.push(absolute ? urlPath : `http://127.0.0.1:80${urlPath}`);
    const r = await this.exec("curl", args, opts.body === undefined ? {} : { input: opts.body });
    const cut = r.stdout.lastIndexOf("\n");
    const status = Number(r.stdout.slice(cut + 1)) || 0;
    return status ? { status, body: r.stdout.slice(0, cut) } : { status, body: "", error: r.stderr.trim() };
  }

  /**
   * Runs the built CLI inside: `rf-agent COMMAND --config /etc/rf-agent/agent.ini ARGS...`. Left as
   * given when args name a config, or start with an option (--help, --version: no command to configure).
   */
  rfAgent(args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const [command, ...rest] = args;
    const hasConfig = args.some((a) => a === "--config" || a.startsWith("--config="));
    const argv =
      hasConfig || command === undefined || command.startsWith("-")
        ? args
        : [command, "--config", AGENT_CONFIG, ...rest];
    return this.exec("rf-agent", argv, opts);
  }

  // nsenter directly rather than `server.sh exec` (same namespaces, root and clean environment),
  // under FORWARD; env -C sets the cwd inside the server's root.
  private innerArgs(cmd: string, args: string[], opts: SpawnOptions): string[] {
    const env = Object.entries(opts.env ?? {}).map(([key, value]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new Error(`bad environment variable name '${key}'`);
      return `${key}=${value}`;
    });
    return [
      ...["-c", FORWARD, "forward", "-t", String(this.pid), "-m", "-p", "-n", "-u", "-i", "-C", "-r", "--"],
      ...["env", "-i", "--default-signal=INT,QUIT", "-C", opts.cwd ?? "/", ...BASE_ENV, ...env],
      ...["setpriv", "--pdeathsig", "TERM", "--", cmd, ...args],
    ];
  }
}

async function downByName(name: string): Promise<void> {
  await execa("bash", [SERVER_SH, "down", name]);
  live.delete(name);
}

// Unique per test file and worker, e.g. server-12345 then server-12345-2 (server.sh allows 41 chars).
function defaultName(): string {
  const file = /([\w.-]+?)\.(?:test|spec)\.[cm]?[jt]s/.exec(new Error().stack ?? "")?.[1] ?? "rf";
  const base =
    file
      .replace(/[^a-zA-Z0-9_.-]/g, "-")
      .replace(/^[^a-zA-Z0-9]+/, "")
      .slice(0, 24) || "rf";
  serversMade += 1;
  return `${base}-${process.pid}${serversMade > 1 ? `-${serversMade}` : ""}`;
}

function tail(text: string, lines = 20): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

// A test that forgot down(), or a worker that is going away early, must not leave servers running.
process.once("exit", () => {
  for (const name of live) execaSync("bash", [SERVER_SH, "down", name], { reject: false });
});
