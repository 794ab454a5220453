// The command line: parse arguments, run one command, print errors, exit. The only place that exits.
// Loaded by cli.ts once the process runs at its priority.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { loadConfig, resolveConfigPath } from "./config/load.js";
import { createContext } from "./context.js";
import { ExitCode, formatError, isRfError, RfError } from "./errors.js";
import { createLogger, flushLogs, isJournalStream, redactSecrets, type Logger } from "./log.js";
import { findAppUser } from "./ops/host.js";
import { preloadUndici } from "./adapters/undici.js";
import { printable, printableLine } from "./core/printable.js";
import { commandLine, type GlobalOption } from "./config/args.js";
import { versionText } from "./version.js";
import type { RunOutcome } from "./core/run-report.js";
// Each command's code is imported when that command runs: a rollback need not load the webhook
// server, git or the installer before it switches nginx.

const COMMON = {
  config: { type: "string" },
  help: { type: "boolean", short: "h" },
  verbose: { type: "boolean", short: "v" },
  version: { type: "boolean" },
} as const;

// Accepted before the command too: `rf-agent --config /etc/x.ini deploy`.
const GLOBALS: GlobalOption[] = Object.entries(COMMON).map(([name, o]) => ({
  name,
  short: "short" in o ? o.short : undefined,
  takesValue: o.type === "string",
}));

interface Command {
  summary: string;
  usage: string;
  options: ParseArgsConfig["options"];
  help: string;
}

const COMMANDS: Record<string, Command> = {
  deploy: {
    summary: "install the new commit in the idle color, health-check it, switch nginx to it",
    usage: "rf-agent deploy [--ref REF] [--force] [--dry-run] [--no-switch] [--wait SECONDS] [--json]",
    options: {
      json: { type: "boolean" },
      ref: { type: "string" },
      force: { type: "boolean" },
      "dry-run": { type: "boolean" },
      "no-switch": { type: "boolean" },
      wait: { type: "string" },
    },
    help: `  --ref REF        branch, tag or commit to deploy (default: the tip of [app] branch)
  --force          deploy even if that commit is already live
  --no-switch      install and health-check the idle color, show it on the preview server, stop there
  --dry-run        print the plan and the unit/nginx file diffs; change nothing
  --wait SECONDS   wait this long for another run's lock (default 0: exit 4 at once)
  --json           one JSON object on stdout (changed, outcome, from, to, steps, error); messages to stderr`,
  },
  rollback: {
    summary: "put the previous version back live (instant while it is a warm standby)",
    usage: "rf-agent rollback [--to REF] [--wait SECONDS] [--json]",
    options: { to: { type: "string" }, wait: { type: "string" }, json: { type: "boolean" } },
    help: `  --to REF         deploy this commit instead of the previous color
  --wait SECONDS   wait this long for another run's lock (default 0)
  --json           one JSON object on stdout (changed, outcome, from, to, steps, error); messages to stderr`,
  },
  status: {
    summary: "live color and commit, each slot's commit, units and health, the lock",
    usage: "rf-agent status [--json]",
    options: { json: { type: "boolean" } },
    help: "  --json           machine-readable output",
  },
  switch: {
    summary: "put live what `deploy --no-switch` staged (health-gated again, pre_switch hook first)",
    usage: "rf-agent switch [--wait SECONDS]",
    options: { wait: { type: "string" } },
    help: "  --wait SECONDS   wait this long for another run's lock (default 0)",
  },
  discard: {
    summary:
      "stop what `deploy --no-switch` staged, or the warm standby; the preview shows live (alias: cleanup)",
    usage: "rf-agent discard [--wait SECONDS]",
    options: { wait: { type: "string" } },
    help: `  --wait SECONDS   wait this long for another run's lock (default 0)

Nothing staged and no standby: says so and exits 0. Recorded in the history.`,
  },
  doctor: {
    summary: "check this host is ready for a first deploy; each failed check says how to fix it",
    usage: "rf-agent doctor",
    options: {},
    help: "Exit 0 only when every check passes, else 1.",
  },
  reconcile: {
    summary: "repair after a crash: finish or undo a half-done switch, stop an expired standby",
    usage: "rf-agent reconcile [--wait SECONDS]",
    options: { wait: { type: "string" } },
    help: "  --wait SECONDS   wait this long for another run's lock (default 0)\n\nEvery deploy and rollback does this first; a timer runs it when a warm standby expires.",
  },
  history: {
    summary: "past deploys and rollbacks, newest last",
    usage: "rf-agent history [--json] [-n N]",
    options: { json: { type: "boolean" }, n: { type: "string", short: "n" } },
    help: "  --json           one JSON object per line\n  -n N             only the last N entries (default 20)",
  },
  install: {
    summary: "install the timer, the webhook listener and their deploy service for this app (idempotent)",
    usage: "rf-agent install",
    options: {},
    help: `Writes rf-agent-NAME-deploy@.service, rf-agent-NAME-deploy.timer (when [trigger] schedule is set),
rf-agent-NAME-deploy.path and rf-agent-NAME-webhook.service, enables and starts them, and creates
[webhook] secret_file (0600) if it does not exist. Run it again after changing the config.`,
  },
  uninstall: {
    summary: "stop and remove exactly what install wrote",
    usage: "rf-agent uninstall [--wait SECONDS]",
    options: { wait: { type: "string" } },
    help: "  --wait SECONDS   wait this long for a running deploy to finish (default 0)",
  },
  webhook: {
    summary: "the webhook listener (run by rf-agent-NAME-webhook.service): files deploy requests",
    usage: "rf-agent webhook",
    options: {},
    help: "Listens on [webhook] listen: POST /hooks/NAME, GET /healthz. Started by its unit; run by hand to debug.",
  },
  logs: {
    summary: "the journal of the agent's units and the app's, by deploy or color",
    usage: "rf-agent logs [--deploy ID | --last] [--color blue|green] [--follow] [-n N]",
    options: {
      deploy: { type: "string" },
      last: { type: "boolean" },
      color: { type: "string" },
      follow: { type: "boolean", short: "f" },
      n: { type: "string", short: "n" },
    },
    help: `  --deploy ID      every line of that deploy run (ids: rf-agent history)
  --last           every line of the last deploy or rollback
  --color C        only lines of the app's units of color C (blue or green)
  --follow, -f     keep printing new lines
  -n N             without --deploy/--last: the last N lines (default 100)`,
  },
};

/** Other names of commands: the seed called discard `cleanup`. */
const ALIASES: Record<string, string> = { cleanup: "discard" };

function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    "rf-agent: zero-downtime blue/green deploys of a Python web app on one systemd + nginx host",
    "",
    "usage: rf-agent [--config PATH] [-v] <command> [options]",
    "",
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    "",
    "Every command takes --config PATH (default $RF_AGENT_CONFIG, then /etc/rf-agent/agent.ini),",
    "-v/--verbose and -h/--help, before or after the command; --version names the build.",
    "Exit codes: 0 done or nothing to do, 1 failed before the switch (live untouched), 2 usage or",
    "config error, 3 failed after the switch and rolled back, 4 locked.",
  ].join("\n");
}

function commandHelp(name: string, c: Command): string {
  return [
    `usage: ${c.usage} [--config PATH]`,
    "",
    c.summary,
    "",
    c.help,
    "  --config PATH    config file",
    "",
  ].join("\n");
}

/** Commands that only read, so any user may run them (as far as file permissions allow). */
const READ_ONLY = new Set(["status", "history", "logs", "webhook"]);

const sudoHint = (argv: string[]) => `run it with sudo: sudo rf-agent ${argv.join(" ")}`;

/** Why a command needs root, for the message a non-root user gets. */
const needsRoot = (name: string) =>
  name === "doctor"
    ? "checks what only root can (nginx -t, git as the app user, who holds the ports)"
    : "changes systemd units and nginx";

/**
 * Commands that make an HTTP request early, so undici (~100 ms of CPU to load) is loaded while the
 * config is read. Not deploy: its first request is normally the health check, which loads undici
 * while the new color boots; on a busy CPU, loading it first would only delay the fetch.
 */
const HTTP_EARLY = new Set(["rollback", "switch", "status", "doctor", "reconcile", "install"]);

/** Commands that never act as the app user nor read its checkouts: no lookup (two processes) for them. */
const NO_USER = new Set(["history", "logs"]);

function seconds(value: string | undefined, flag: string): number {
  if (value === undefined) return 0;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) {
    throw new RfError("USAGE", `${flag} must be a number of seconds, got "${value}"`, {
      hint: `e.g. ${flag} 60`,
    });
  }
  return n;
}

// Everything printed carries text from others (commit subjects, branch names, delivery ids, journal
// lines): no escape sequence of theirs reaches the terminal. Under a unit stdout is the journal, so
// the app's values are scrubbed here as in the log.
function print(line: string): void {
  process.stdout.write(printable(redactSecrets(line)) + "\n");
}

/** Set by deploy/rollback --json: the run's report goes to stdout however the run ends. */
let jsonRun: { command: string; since: Date; stateDir?: string } | undefined;

// The report of the run (core/run-report.ts), with the history entry it recorded; printed once.
async function printRunReport(result: RunOutcome | undefined, error?: unknown): Promise<void> {
  const run = jsonRun;
  jsonRun = undefined;
  if (!run) return;
  const [{ readHistory }, report] = await Promise.all([
    import("./adapters/history.js"),
    import("./core/run-report.js"),
  ]);
  const entries = run.stateDir ? await readHistory(run.stateDir).catch(() => []) : [];
  const entry = report.entryOfRun(entries, ["deploy", "rollback"], run.since);
  print(
    JSON.stringify(
      result
        ? report.reportOutcome(run.command, result, entry)
        : report.reportFailure(run.command, error, entry),
    ),
  );
}

function parseOptions(name: string, args: string[], options: ParseArgsConfig["options"], usage: string) {
  try {
    return parseArgs({ args, options, allowPositionals: false, strict: true }).values as Record<
      string,
      string | boolean | undefined
    >;
  } catch (e) {
    throw new RfError("USAGE", `${name}: ${(e as Error).message.split("\n")[0]}`, {
      hint: `usage: ${usage}`,
    });
  }
}

/** Each command's module, named statically so the bundler splits it into its own chunk. */
const EARLY_IMPORTS: Record<string, () => Promise<unknown>> = {
  deploy: () => import("./commands/deploy.js"),
  rollback: () => import("./commands/rollback.js"),
  switch: () => import("./commands/switch.js"),
  discard: () => import("./commands/discard.js"),
  status: () => import("./commands/status.js"),
  doctor: () => import("./commands/doctor.js"),
  logs: () => import("./commands/logs.js"),
};

async function main(argv: string[]): Promise<number> {
  const line = commandLine(argv, GLOBALS);
  if (!line.ok) {
    throw new RfError("USAGE", line.error, {
      hint: "usage: rf-agent [--config PATH] [-v] <command> [options]; `rf-agent --help` lists the commands",
    });
  }
  const { args: rest } = line;
  const name = line.command === undefined ? undefined : (ALIASES[line.command] ?? line.command);
  if (name === undefined || name === "help") {
    const values = parseOptions("rf-agent", rest, COMMON, "rf-agent <command> [options]");
    if (values.version) {
      print(versionText());
      return ExitCode.ok;
    }
    print(mainHelp());
    return values.help || name === "help" ? ExitCode.ok : ExitCode.usage;
  }
  const command = COMMANDS[name];
  if (!command) {
    throw new RfError("USAGE", `unknown command "${name}"`, {
      hint: `run \`rf-agent --help\` for the list: ${Object.keys(COMMANDS).join(", ")}`,
    });
  }
  const values = parseOptions(name, rest, { ...COMMON, ...command.options }, command.usage);
  if (values.version) {
    print(versionText());
    return ExitCode.ok;
  }
  if (values.help) {
    print(commandHelp(name, command));
    return ExitCode.ok;
  }
  const json = Boolean(values.json) && (name === "deploy" || name === "rollback");
  if (json) jsonRun = { command: name, since: new Date() };
  // With --json, stdout holds only the report: the lines for people go to stderr.
  const say = json ? (l: string) => void process.stderr.write(printable(redactSecrets(l)) + "\n") : print;
  // Units, nginx and the lock live in root-owned places; fail clearly instead of with EACCES midway.
  if (!READ_ONLY.has(name) && process.getuid?.() !== 0) {
    throw new RfError("USAGE", `rf-agent ${name} ${needsRoot(name)}, so it must run as root`, {
      hint: sudoHint(argv),
    });
  }
  // Loads while the config is read and the first child processes run, not after.
  if (HTTP_EARLY.has(name)) preloadUndici();
  // The command's own code too, while the config is read and the app user looked up: the import
  // below then finds it loaded. Any failure is reported where it is awaited.
  EARLY_IMPORTS[name]?.().catch(() => undefined);
  const log: Logger = createLogger({ level: values.verbose ? "debug" : undefined });
  const config = await loadConfig(resolveConfigPath(values.config as string | undefined, process.env));
  // The listener needs only its config: no user lookup, no child process.
  if (name === "webhook") return (await import("./commands/webhook.js")).webhook(config, log);
  const bare = createContext(config, log);
  const ctx = { ...bare, user: NO_USER.has(name) ? null : await findAppUser(bare) };
  if (jsonRun) jsonRun.stateDir = ctx.layout.stateDir;
  const wait = seconds(values.wait as string | undefined, "--wait");
  switch (name) {
    case "install":
      return (await import("./commands/install.js")).install(ctx, { print });
    case "uninstall":
      return (await import("./commands/install.js")).uninstall(ctx, { print, waitSec: wait });
    case "logs": {
      const { logs } = await import("./commands/logs.js");
      const lines = values.n === undefined ? 100 : Number(values.n);
      if (!Number.isInteger(lines) || lines < 1)
        throw new RfError("USAGE", `-n must be a positive whole number, got "${String(values.n)}"`);
      return logs(ctx, {
        deploy: values.deploy as string | undefined,
        last: Boolean(values.last),
        color: values.color as string | undefined,
        follow: Boolean(values.follow),
        lines,
        print,
      });
    }
  }
  switch (name) {
    case "deploy": {
      const { deploy } = await import("./commands/deploy.js");
      const result = await deploy(ctx, {
        ref: values.ref as string | undefined,
        force: Boolean(values.force),
        dryRun: Boolean(values["dry-run"]),
        noSwitch: Boolean(values["no-switch"]),
        waitSec: wait,
        print: say,
      });
      await printRunReport(result);
      return result.exitCode;
    }
    case "rollback": {
      const { rollback } = await import("./commands/rollback.js");
      const result = await rollback(ctx, { to: values.to as string | undefined, waitSec: wait, print: say });
      await printRunReport(result);
      return result.exitCode;
    }
    case "discard": {
      const { discard } = await import("./commands/discard.js");
      return (await discard(ctx, { waitSec: wait, print })).exitCode;
    }
    case "switch": {
      const { switchStaged } = await import("./commands/switch.js");
      return (await switchStaged(ctx, { waitSec: wait, print })).exitCode;
    }
    case "doctor": {
      const { doctor, formatChecks } = await import("./commands/doctor.js");
      const results = await doctor(ctx);
      print(formatChecks(results));
      return results.every((r) => r.ok) ? ExitCode.ok : ExitCode.failedBeforeSwitch;
    }
    case "reconcile": {
      const [{ withLock }, { reconcile }, { writeMetrics }] = await Promise.all([
        import("./ops/recorded.js"),
        import("./ops/reconcile.js"),
        import("./ops/report.js"),
      ]);
      const state = await withLock(ctx, "reconcile", wait, () => reconcile(ctx));
      await writeMetrics(ctx);
      print(state.live ? `live: ${state.live.color} ${state.live.sha.slice(0, 12)}` : "nothing is live");
      return ExitCode.ok;
    }
    case "status": {
      const { collectStatus, formatStatus } = await import("./commands/status.js");
      const report = await collectStatus(ctx);
      print(values.json ? JSON.stringify(report, null, 2) : formatStatus(report));
      return ExitCode.ok;
    }
    case "history": {
      const n = values.n === undefined ? 20 : Number(values.n);
      if (!Number.isInteger(n) || n < 1)
        throw new RfError("USAGE", `-n must be a positive whole number, got "${String(values.n)}"`);
      const { runHistory } = await import("./ops/history.js");
      const entries = (await runHistory(ctx)).slice(-n);
      for (const e of entries) {
        print(
          values.json
            ? JSON.stringify(e)
            : // One line per entry: a newline in a delivery id or an error must not forge another.
              printableLine(
                `${e.startedAt}  ${e.id}  ${e.command.padEnd(8)} ${e.outcome.padEnd(11)} ${e.from ? `${e.from.color} ${e.from.sha.slice(0, 8)}` : "-"} -> ${e.to ? `${e.to.color} ${e.to.sha.slice(0, 8)}` : "-"}  ${(e.ms / 1000).toFixed(1)} s  ${e.trigger}${e.error ? `  (${e.error})` : ""}`,
              ),
        );
      }
      return ExitCode.ok;
    }
  }
  return ExitCode.usage;
}

// Under systemd each line of an error gets priority "err", so `journalctl -p warning` shows the cause.
function errorText(text: string): string {
  return isJournalStream(2) ? text.replace(/^/gm, "<3>") : text;
}

// The journal forwarder gets every line before the process goes.
const exit = (code: number) => void flushLogs().finally(() => process.exit(code));

/**
 * A file this user may not read or write (a read-only command run without sudo meets root's
 * root-only state): the user's mistake, not a bug of ours.
 */
function permissionDenied(e: unknown, argv: string[]): RfError | null {
  const err = e as NodeJS.ErrnoException | null;
  if (process.getuid?.() === 0 || (err?.code !== "EACCES" && err?.code !== "EPERM")) return null;
  const what = err.path ?? "a file it needs";
  return new RfError("USAGE", `this user may not read ${what}: rf-agent keeps its state root-only`, {
    hint: sudoHint(argv),
    cause: e,
  });
}

main(process.argv.slice(2)).then(exit, async (caught: unknown) => {
  const e = permissionDenied(caught, process.argv.slice(2)) ?? caught;
  await printRunReport(undefined, e).catch(() => undefined);
  if (isRfError(e)) {
    process.stderr.write(errorText(printable(redactSecrets(formatError(e)))) + "\n");
    return exit(e.exitCode);
  }
  // A bug of ours, not the user's: still one paragraph, with where to look.
  const err = e instanceof Error ? e : new Error(String(e));
  process.stderr.write(
    printable(
      redactSecrets(
        `rf-agent: internal error: ${err.message}\n  fix: this is a bug in rf-agent. Check what serves with rf-agent status, run again with -v, and report the output.\n`,
      ),
    ),
  );
  if (process.env.RF_AGENT_DEBUG) process.stderr.write(printable(redactSecrets(`${err.stack ?? ""}\n`)));
  exit(ExitCode.failedBeforeSwitch);
});
