// The systemd-run command line that runs one command of the app user's in a transient, hardened unit.
import { randomHex } from "./random.js";
import { RfError } from "../errors.js";
import type { RunAs } from "./runner.js";

/** Everything the argv depends on; the runner fills it from RunOptions. */
export interface SandboxSpec {
  /** Full unit name (prefix plus random suffix, without ".service"). */
  unit: string;
  file: string;
  args: string[];
  as: RunAs;
  cwd?: string;
  writable: string[];
  envFiles?: string[];
  /** Plain variables, visible on systemd-run's command line: never secrets (those go in envFiles). */
  env: Record<string, string>;
  /** RuntimeMaxSec=: systemd stops the whole unit this long after it started. */
  timeoutSec?: number;
  /** BindsTo=: the unit rf-agent itself runs in, so stopping rf-agent's unit stops the command too. */
  boundTo?: string | null;
}

/** How long systemd waits after SIGTERM before it SIGKILLs what is left of the unit. */
export const STOP_TIMEOUT_SEC = 3;

// What ReadWritePaths=, EnvironmentFile= and unit names accept here: -p splits on spaces and treats
// quotes, backslashes and a leading - or + specially, so anything else is a bug upstream, not input.
const PLAIN_PATH = /^\/[A-Za-z0-9._/@+-]*$/;
const UNIT_PREFIX = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CALLER_UNIT = /^[A-Za-z0-9][A-Za-z0-9@._:-]*\.(service|scope)$/;
// Under these ProtectHome=yes hides everything; a command working or writing there gets read-only.
const HOME_DIRS = /^\/(home|root|run\/user)(\/|$)/;

// The app services' hardening (units/service@.service) minus what git, pip and hooks need: the network
// (fetches, package index, a migration's database), and no IPAddressDeny, PrivateUsers, RemoveIPC
// (it would remove the running services' IPC: they are the same user).
const HARDENING = [
  "NoNewPrivileges=yes",
  "ProtectSystem=strict",
  "PrivateTmp=yes",
  "PrivateDevices=yes",
  "DevicePolicy=closed",
  "ProtectHostname=yes",
  "ProtectClock=yes",
  "ProtectKernelTunables=yes",
  "ProtectKernelModules=yes",
  "ProtectKernelLogs=yes",
  "ProtectControlGroups=yes",
  "ProtectProc=invisible",
  "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
  "RestrictNamespaces=yes",
  "RestrictRealtime=yes",
  "RestrictSUIDSGID=yes",
  "LockPersonality=yes",
  "CapabilityBoundingSet=",
  "AmbientCapabilities=",
  "SystemCallArchitectures=native",
  "SystemCallFilter=@system-service",
  "SystemCallFilter=~@privileged @resources",
  "SystemCallErrorNumber=EPERM",
  "KeyringMode=private",
  "UMask=0027",
  // When the main process exits (or the time is up) every process left in the unit goes too: a
  // background child holding stdout can neither outlive the command nor hold the caller.
  "KillMode=control-group",
  `TimeoutStopSec=${STOP_TIMEOUT_SEC}`,
];

/** A unit name nobody can guess or collide with: the prefix plus 16 random hex digits. */
export function sandboxUnitName(prefix: string, random: string = randomHex(8)): string {
  if (!UNIT_PREFIX.test(prefix)) throw bug(`unit prefix ${JSON.stringify(prefix)} is not a plain unit name`);
  return `${prefix}-${random}`;
}

/**
 * systemd expands $VAR and $$ in a unit's command line (systemd-run has no --expand-environment=no
 * before v254), so each dollar is doubled: the command gets exactly the argv it was given.
 */
export function escapeCommandLine(word: string): string {
  return word.replace(/\$/g, "$$$$");
}

/** The arguments of systemd-run (not including "systemd-run" itself). */
export function sandboxArgv(spec: SandboxSpec): string[] {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(spec.unit))
    throw bug(`unit ${spec.unit} is not a plain unit name`);
  if (spec.boundTo && !CALLER_UNIT.test(spec.boundTo)) throw bug(`unit ${spec.boundTo} cannot be bound to`);
  const cwd = spec.cwd ?? "/";
  const envFiles = spec.envFiles ?? [];
  for (const p of [cwd, ...spec.writable, ...envFiles])
    if (!PLAIN_PATH.test(p)) throw bug(`path ${JSON.stringify(p)} cannot be handed to systemd-run as it is`);
  const underHome = [cwd, ...spec.writable].some((p) => HOME_DIRS.test(p));
  const props = [
    ...HARDENING,
    `ProtectHome=${underHome ? "read-only" : "yes"}`,
    ...spec.writable.map((p) => `ReadWritePaths=${p}`),
    ...envFiles.map((f) => `EnvironmentFile=${f}`),
    ...(spec.timeoutSec === undefined ? [] : [`RuntimeMaxSec=${runtimeSec(spec.timeoutSec)}`]),
    // No After=: the deploy service is a oneshot still starting while it runs, and the command's
    // start would wait for it forever.
    ...(spec.boundTo ? [`BindsTo=${spec.boundTo}`] : []),
  ];
  const setenv = Object.entries(spec.env).map(([k, v]) => {
    if (!ENV_NAME.test(k)) throw bug(`environment variable name ${JSON.stringify(k)} is not valid`);
    return `--setenv=${k}=${v}`;
  });
  return [
    "--wait",
    "--pipe",
    "--collect",
    "--quiet",
    `--unit=${spec.unit}`,
    `--uid=${spec.as.uid}`,
    `--gid=${spec.as.gid}`,
    `--working-directory=${cwd}`,
    ...props.flatMap((p) => ["-p", p]),
    ...setenv,
    "--",
    spec.file,
    ...spec.args.map(escapeCommandLine),
  ];
}

/**
 * The service or scope a process runs in, from its /proc/PID/cgroup text (the unified "0::" line, or
 * v1's name=systemd): what a sandboxed command is bound to. null for PID 1's init.scope, a cgroup
 * outside our namespace ("/..") or anything that is not a plain unit name.
 */
export function unitOfCgroup(text: string): string | null {
  const lines = text.split("\n");
  const line = lines.find((l) => l.startsWith("0::")) ?? lines.find((l) => /^\d+:name=systemd:/.test(l));
  const unit = line?.slice(line.lastIndexOf("/") + 1) ?? "";
  return CALLER_UNIT.test(unit) && unit !== "init.scope" ? unit : null;
}

/** RuntimeMaxSec= in whole seconds, at least 1 (0 would mean no limit). */
export function runtimeSec(timeoutSec: number): number {
  return Math.max(1, Math.ceil(timeoutSec));
}

/** Why systemd itself (not the command) failed, for its exit statuses (systemd.exec "Process Exit Codes"). */
export function systemdExitReason(status: number): string | undefined {
  const reasons: Record<number, string> = {
    200: "CHDIR: systemd could not enter the working directory",
    203: "EXEC: systemd could not execute the program",
    217: "USER: systemd could not switch to the user",
    226: "NAMESPACE: systemd could not set up the sandbox (does every writable path exist?)",
  };
  return reasons[status];
}

function bug(message: string): RfError {
  return new RfError("INTERNAL", `sandbox: ${message}`, {
    hint: "this is a bug in rf-agent; please report it with the command you ran",
  });
}
