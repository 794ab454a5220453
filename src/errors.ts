// The one error type rf-agent raises: what went wrong, how to fix it, and the exit code.

/** Documented exit codes (README "Exit codes"). */
export const ExitCode = {
  ok: 0,
  failedBeforeSwitch: 1,
  usage: 2,
  rolledBack: 3,
  locked: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export type ErrorCode =
  | "CONFIG"
  | "USAGE"
  | "LOCKED"
  | "GIT"
  | "VENV"
  | "PIP"
  | "SYSTEMD"
  | "NGINX"
  | "HEALTH"
  | "PORT_BUSY"
  | "STATE"
  | "SWITCH"
  | "ROLLED_BACK"
  | "NOTHING_TO_ROLL_BACK"
  | "NOTHING_STAGED"
  | "HOOK"
  | "ENV"
  | "COMMAND"
  | "INTERNAL";

export interface RfErrorOptions {
  hint?: string;
  cause?: unknown;
  exitCode?: ExitCode;
  /** Extra lines (e.g. the tail of a journal) shown under the message. */
  details?: string;
}

export class RfError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly exitCode: ExitCode;
  readonly details: string | undefined;

  constructor(code: ErrorCode, message: string, options: RfErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "RfError";
    this.code = code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? defaultExit(code);
    this.details = options.details;
  }
}

function defaultExit(code: ErrorCode): ExitCode {
  switch (code) {
    case "CONFIG":
    case "USAGE":
      return ExitCode.usage;
    case "LOCKED":
      return ExitCode.locked;
    case "ROLLED_BACK":
      return ExitCode.rolledBack;
    default:
      return ExitCode.failedBeforeSwitch;
  }
}

export function isRfError(e: unknown): e is RfError {
  return e instanceof RfError;
}

/** The message a user reads: one paragraph, the fix, then any details. */
export function formatError(e: RfError): string {
  const lines = [`rf-agent: ${e.message}`];
  if (e.hint) lines.push(`  fix: ${e.hint}`);
  if (e.details) lines.push("", e.details.trimEnd());
  return lines.join("\n");
}
