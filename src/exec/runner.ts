// The one place rf-agent starts child processes (except git, which simple-git runs).
import { execa, ExecaError } from "execa";
import { RfError, type ErrorCode } from "../errors.js";
import type { Logger } from "../log.js";

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
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export type Runner = (file: string, args: string[], options?: RunOptions) => Promise<RunResult>;

const SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Credentials in URLs (https://user:token@host) never reach a log line or an error message. */
export function maskUrlCredentials(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s@]+@/gi, "$1***@");
}

/** Last lines of a command's output, for error messages. */
export function tail(text: string, lines = 15): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

export function createRunner(log: Logger): Runner {
  return async (file, args, options = {}) => {
    log.debug(
      { cmd: maskUrlCredentials([file, ...args].join(" ")), cwd: options.cwd, as: options.as?.uid },
      "run",
    );
    const env = options.as
      ? { PATH: SAFE_PATH, HOME: options.as.home, LANG: "C.UTF-8", ...options.env }
      : { ...options.env };
    try {
      const result = await execa(file, args, {
        cwd: options.cwd,
        env,
        extendEnv: !options.as,
        uid: options.as?.uid,
        gid: options.as?.gid,
        timeout: options.timeoutMs,
        input: options.input,
        stdin: options.input === undefined ? "ignore" : "pipe",
        ...(options.onLine ? { stdout: { transform: lineCallback(options.onLine) } } : {}),
        reject: options.reject !== false,
        all: false,
        stripFinalNewline: true,
      });
      return {
        exitCode: result.exitCode ?? 1,
        stdout: String(result.stdout ?? ""),
        stderr: String(result.stderr ?? ""),
      };
    } catch (e) {
      throw toRfError(e, file, args, options);
    }
  };
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
    const output = maskUrlCredentials(errorOutput(String(e.stderr ?? ""), String(e.stdout ?? "")));
    return new RfError(options.code ?? "COMMAND", `\`${cmd}\` ${why}`, {
      hint: options.hint,
      details: output || undefined,
      cause: e,
    });
  }
  return new RfError(options.code ?? "COMMAND", `\`${cmd}\` failed: ${String(e)}`, {
    hint: options.hint,
    cause: e,
  });
}
