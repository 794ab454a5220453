// The one place rf-agent starts child processes: git, pip, systemctl, journalctl, nginx, flock.
import { readFile } from "node:fs/promises";
import { execa, ExecaError } from "execa";
import { RfError, type ErrorCode } from "../errors.js";
import type { Logger } from "../log.js";
import {
  runtimeSec,
  sandboxArgv,
  sandboxUnitName,
  STOP_TIMEOUT_SEC,
  systemdExitReason,
  unitOfCgroup,
} from "./sandbox.js";

export interface RunAs {
  uid: number;
  gid: number;
  home: string;
}

/**
 * A command of the app user's (git, pip, release hooks) run in a transient systemd unit: the
 * services' hardening, writes only below `writable`, the whole process tree killed at the timeout.
 */
export interface Sandbox {
  /** Unit name prefix, e.g. "rf-agent-demo-git"; a random suffix is added. */
  unit: string;
  /** The only paths the command may write (ProtectSystem=strict otherwise). */
  writable: string[];
  /** EnvironmentFile= files systemd reads (as root) for the command: secrets never go on a command line. */
  envFiles?: string[];
}

export interface RunOptions {
  cwd?: string;
  /**
   * Variables for the command. With `sandbox` they go on systemd-run's command line (--setenv), which
   * every user on the host can read in /proc: never secrets there, put those in `sandbox.envFiles`.
   */
  env?: Record<string, string>;
  /** Run as this unprivileged user, with a clean environment. */
  as?: RunAs;
  /** With `as`: run in a transient systemd unit (systemd-run) instead of a plain child process. */
  sandbox?: Sandbox;
  timeoutMs?: number;
  input?: string;
  /** Resolve with a non-zero exitCode instead of throwing. */
  reject?: boolean;
  /** Error code used when the command fails. */
  code?: ErrorCode;
  /** Hint attached to the error when the command fails. */
  hint?: string;
  /** Each stdout line as it arrives, for long-running output (journalctl -f); stdout is then not kept. */
  onLine?: (line: string) => void;
  /**
   * A process that waits for rf-agent's word (the fetch's unit, for the checkout): its stdin is a
   * pipe kept open until this settles, then closed, after the text it resolves to when that is a
   * string. If rf-agent dies first, the kernel closes the pipe. Not with `input`.
   */
  stdinUntil?: Promise<unknown>;
  /** A file descriptor of ours the child gets as its fd 3 (flock locks our open lock file); not sandboxed. */
  fd3?: number;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Set when the command was stopped at its timeout (only with reject: false does a caller see it). */
  timedOut?: boolean;
}

export type Runner = (file: string, args: string[], options?: RunOptions) => Promise<RunResult>;

/** The programs the sandbox path runs as root; tests put small fakes in their place. */
export interface SandboxTools {
  systemdRun: string;
  systemctl: string;
  /** How long past RuntimeMaxSec= + TimeoutStopSec= before rf-agent stops the unit itself. */
  backstopMs: number;
  /** Where rf-agent reads the unit it runs in (the sandboxed command is bound to it). */
  cgroupFile: string;
}

const SYSTEMD_TOOLS: SandboxTools = {
  systemdRun: "systemd-run",
  systemctl: "systemctl",
  backstopMs: 5000,
  cgroupFile: "/proc/self/cgroup",
};

const SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Credentials in URLs (https://user:token@host) never reach a log line or an error message. */
export function maskUrlCredentials(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s@]+@/gi, "$1***@");
}

/** Last lines of a command's output, for error messages. */
export function tail(text: string, lines = 15): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

export function createRunner(log: Logger, tools: SandboxTools = SYSTEMD_TOOLS): Runner {
  let caller: Promise<string | null> | undefined;
  return async (file, args, options = {}) => {
    if (options.as && options.sandbox) {
      caller ??= readFile(tools.cgroupFile, "utf8").then(unitOfCgroup, () => null);
      return runSandboxed(log, tools, file, args, options, options.as, options.sandbox, await caller);
    }
    log.debug(
      { cmd: maskUrlCredentials([file, ...args].join(" ")), cwd: options.cwd, as: options.as?.uid },
      "run",
    );
    const env = options.as
      ? { PATH: SAFE_PATH, HOME: options.as.home, LANG: "C.UTF-8", ...options.env }
      : { ...options.env };
    try {
      const child = execa(file, args, {
        cwd: options.cwd,
        env,
        extendEnv: !options.as,
        uid: options.as?.uid,
        gid: options.as?.gid,
        timeout: options.timeoutMs,
        ...io(options),
        reject: options.reject !== false,
      });
      holdStdin(child, options.stdinUntil);
      const result = await child;
      return {
        exitCode: result.exitCode ?? 1,
        stdout: String(result.stdout ?? ""),
        stderr: String(result.stderr ?? ""),
        ...(result.timedOut ? { timedOut: true } : {}),
      };
    } catch (e) {
      throw toRfError(e, file, args, options);
    }
  };
}

/** Settled either way, stdin closes (after the text it resolved to); a rejection is the caller's to see. */
function holdStdin(child: { stdin: NodeJS.WritableStream | null }, until: Promise<unknown> | undefined) {
  if (!until) return;
  const close = (text?: unknown) => {
    // A child that exited first makes the pipe fail (EPIPE): nothing is left to tell it.
    child.stdin?.on("error", () => undefined);
    if (typeof text === "string") child.stdin?.end(text);
    else child.stdin?.end();
  };
  until.then(close, () => close());
}

// stdin, stdout and output shaping, the same for a plain child and for systemd-run --pipe.
function io(options: RunOptions) {
  const stdin = options.input === undefined && !options.stdinUntil ? ("ignore" as const) : ("pipe" as const);
  const stdout = options.onLine ? { transform: lineCallback(options.onLine) } : ("pipe" as const);
  return {
    // execa's cleanup kills the child when rf-agent exits, through a listener on every signal, whose
    // set-up took ~30 ms of a rollback's start-up. Only a follower (journalctl -f) could outlive us
    // unnoticed; the rest are awaited, die with their pipe (the fetch's unit), are stopped by
    // BindsTo= and the backstop (systemd-run), and a Ctrl-C or a hang-up reaches them with ours as
    // one process group.
    cleanup: options.onLine !== undefined && options.stdinUntil === undefined,
    input: options.input,
    // execa's types name descriptors 3 to 9 only; it hands any number to Node's spawn as it is.
    ...(options.fd3 === undefined
      ? { stdin, stdout }
      : { stdio: [stdin, stdout, "pipe", options.fd3 as unknown as 3] as const }),
    all: false,
    stripFinalNewline: true,
  };
}

/**
 * The command in a transient unit (src/exec/sandbox.ts). systemd-run --wait --pipe hands the command
 * our stdin/stdout/stderr and exits with its status; when the main process exits or RuntimeMaxSec=
 * is reached, systemd kills everything left in the unit, so a background child cannot hold us. If
 * systemd-run itself hangs or dies, the backstop stops the unit so nothing of it survives; if
 * rf-agent's own unit is stopped (systemctl stop, its start timeout), BindsTo= stops the command.
 */
async function runSandboxed(
  log: Logger,
  tools: SandboxTools,
  file: string,
  args: string[],
  options: RunOptions,
  as: RunAs,
  sandbox: Sandbox,
  boundTo: string | null,
): Promise<RunResult> {
  const unit = sandboxUnitName(sandbox.unit);
  const timeoutSec = options.timeoutMs === undefined ? undefined : runtimeSec(options.timeoutMs / 1000);
  const argv = sandboxArgv({
    unit,
    file,
    args,
    as,
    cwd: options.cwd,
    writable: sandbox.writable,
    envFiles: sandbox.envFiles,
    env: { PATH: SAFE_PATH, HOME: as.home, LANG: "C.UTF-8", ...options.env },
    timeoutSec,
    boundTo,
  });
  const cmd = maskUrlCredentials([file, ...args].join(" "));
  // The command, not systemd-run's argv: that holds options.env, which the log does not need.
  log.debug({ cmd, cwd: options.cwd, as: as.uid, unit }, "run");
  const started = Date.now();
  const child = execa(tools.systemdRun, argv, {
    cwd: "/",
    env: { PATH: SAFE_PATH, LANG: "C.UTF-8" },
    extendEnv: false,
    timeout: timeoutSec === undefined ? undefined : (timeoutSec + STOP_TIMEOUT_SEC) * 1000 + tools.backstopMs,
    ...io(options),
    reject: false,
  });
  holdStdin(child, options.stdinUntil);
  const result = await child;
  const stdout = String(result.stdout ?? "");
  const stderr = String(result.stderr ?? "");
  if (result.exitCode === undefined) {
    // Timed out past the backstop, killed by a signal, or systemd-run could not start at all.
    await stopUnit(log, tools, unit);
    const why = result.timedOut
      ? `timed out after ${timeoutSec} s`
      : result.code === "ENOENT"
        ? "could not start: systemd-run is missing (rf-agent needs systemd as the init system)"
        : `failed: ${result.shortMessage}`;
    if (options.reject === false && result.timedOut) return { exitCode: 1, stdout, stderr, timedOut: true };
    throw commandError(cmd, why, stdout, stderr, options, result);
  }
  // systemd-run says 1 for a unit that hit RuntimeMaxSec=; no command that ran its full time exits by itself.
  const timedOut =
    result.exitCode !== 0 && timeoutSec !== undefined && Date.now() - started >= timeoutSec * 1000;
  if (result.exitCode === 0 || options.reject === false)
    return { exitCode: result.exitCode, stdout, stderr, ...(timedOut ? { timedOut } : {}) };
  const reason = systemdExitReason(result.exitCode);
  const why = timedOut
    ? `timed out after ${timeoutSec} s`
    : `exited with status ${result.exitCode}${reason ? ` (${reason})` : ""}`;
  throw commandError(cmd, why, stdout, stderr, options);
}

/** Best effort: the unit and every process in it gone (SIGTERM, SIGKILL after TimeoutStopSec=). */
async function stopUnit(log: Logger, tools: SandboxTools, unit: string): Promise<void> {
  const r = await execa(tools.systemctl, ["stop", "--", `${unit}.service`], {
    env: { PATH: SAFE_PATH, LANG: "C.UTF-8" },
    extendEnv: false,
    stdin: "ignore",
    cleanup: false,
    timeout: (STOP_TIMEOUT_SEC + 10) * 1000,
    reject: false,
  });
  if (r.exitCode !== 0) log.warn({ unit, err: String(r.stderr || r.shortMessage) }, `could not stop ${unit}`);
}

// An execa transform that hands each line on and keeps none of it (so it yields nothing).
function lineCallback(onLine: (line: string) => void) {
  // eslint-disable-next-line require-yield
  return function* (line: unknown): Generator<string, void, unknown> {
    onLine(String(line));
  };
}

/**
 * The end of stderr first (where a failing command says why: pip's "No space left on device" must not be
 * pushed out by its progress on stdout), then as much of the end of stdout as still fits.
 */
function errorOutput(stderr: string, stdout: string, lines = 15): string {
  const err = stderr.trim() ? tail(stderr.trim(), lines) : "";
  const room = lines - (err ? err.split("\n").length : 0);
  const out = room > 0 && stdout.trim() ? tail(stdout.trim(), room) : "";
  return [err, out].filter(Boolean).join("\n");
}

function commandError(
  cmd: string,
  why: string,
  stdout: string,
  stderr: string,
  options: RunOptions,
  cause?: unknown,
): RfError {
  const output = maskUrlCredentials(errorOutput(stderr, stdout));
  return new RfError(options.code ?? "COMMAND", `\`${cmd}\` ${why}`, {
    hint: options.hint,
    details: output || undefined,
    cause,
  });
}

function toRfError(e: unknown, file: string, args: string[], options: RunOptions): RfError {
  const cmd = maskUrlCredentials([file, ...args].join(" "));
  if (e instanceof ExecaError) {
    const why = e.timedOut
      ? `timed out after ${Math.round((options.timeoutMs ?? 0) / 1000)} s`
      : e.code === "ENOENT"
        ? "command not found"
        : e.exitCode !== undefined
          ? `exited with status ${e.exitCode}`
          : (e.shortMessage ?? "failed");
    return commandError(cmd, why, String(e.stdout ?? ""), String(e.stderr ?? ""), options, e);
  }
  return new RfError(options.code ?? "COMMAND", `\`${cmd}\` failed: ${String(e)}`, {
    hint: options.hint,
    cause: e,
  });
}
