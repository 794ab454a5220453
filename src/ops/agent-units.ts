// The agent's own units for one app (the deploy service template, the timer, the .path unit, the
// webhook listener) put on the host and taken off it: what `rf-agent install` and `uninstall` do.
// Install checks the host, looks at what is there, plans (src/core/agent-units.ts) and applies the plan.
import { readFile, realpath, rm, stat } from "node:fs/promises";
import path from "node:path";
import { readIfExists, writeIfChanged } from "../adapters/files.js";
import { journalTail } from "../adapters/journal.js";
import {
  checkCalendar,
  daemonReload,
  disableNow,
  enableUnits,
  isEnabled,
  resetFailed,
  startUnits,
  stopUnits,
  systemdRunning,
} from "../adapters/systemd.js";
import { webhookPortOwner } from "../config/build.js";
import { configError } from "../config/problems.js";
import type { Context } from "../context.js";
import { planInstall, sha256, type InstallPlan, type Manifest } from "../core/agent-units.js";
import { RfError } from "../errors.js";
import { selfCommand } from "../exec/self.js";
import { readManifest, writeManifest } from "../triggers/manifest.js";
import { renderTriggerUnits, type AgentCommand } from "../triggers/units.js";
import { withLock } from "./recorded.js";
import { ensureSecret, readSecretFile, removeGeneratedSecret } from "./webhook-secret.js";

export type { AgentCommand };

function thisAgent(configPath: string): AgentCommand {
  // The single executable is node and script in one: no script beside it.
  const [node, script = ""] = selfCommand();
  return { node, script, configPath: path.resolve(configPath) };
}

// The listener runs as a throwaway user with ProtectHome=yes and PrivateTmp=yes: it cannot reach
// node or rf-agent under /root or /home (nvm, a clone in a home directory) or in /tmp, nor files
// only root may read.
const HIDDEN = ["/root", "/home", "/run/user", "/tmp", "/var/tmp"];
async function unreachable(file: string): Promise<string | undefined> {
  let real: string;
  try {
    real = await realpath(file);
  } catch {
    return `${file} does not exist`;
  }
  if (HIDDEN.some((h) => real === h || real.startsWith(`${h}/`)))
    return `${real} is under ${HIDDEN.join(", ")}, which the listener's sandbox hides`;
  for (let dir = path.dirname(real); ; dir = path.dirname(dir)) {
    if (((await stat(dir)).mode & 0o001) === 0) return `${dir} is not searchable by other users (chmod o+x)`;
    if (dir === "/") break;
  }
  if (((await stat(real)).mode & 0o004) === 0) return `${real} is not readable by other users (chmod o+r)`;
  return undefined;
}

async function verifyCommand(cmd: AgentCommand): Promise<void> {
  if (!/^\/[A-Za-z0-9._/@+-]*$/.test(cmd.configPath)) {
    throw new RfError(
      "USAGE",
      `the config path ${JSON.stringify(cmd.configPath)} cannot go into a unit file`,
      {
        hint: "keep the config at a path of letters, digits and . _ - + @ /, e.g. /etc/rf-agent/agent.ini",
      },
    );
  }
  for (const [what, file] of [
    ["node", cmd.node],
    ["rf-agent", cmd.script],
  ] as const) {
    if (!file) continue;
    const why = await unreachable(file);
    if (why) {
      throw new RfError("USAGE", `the webhook listener could not run ${what}: ${why}`, {
        hint: "install rf-agent system-wide (README, Installing on a server: the single executable in /usr/local/bin, or the release tarball with npm install -g) and run that rf-agent install",
      });
    }
  }
}

async function verifySchedule(ctx: Context): Promise<void> {
  const schedule = ctx.config.trigger.schedule;
  if (schedule === null) return;
  const r = await checkCalendar(ctx.run, schedule);
  if (r.ok) return;
  const why = r.output.split("\n").find((l) => l.trim()) ?? "rejected";
  throw configError(ctx.config.source, [
    {
      section: "trigger",
      key: "schedule",
      message: `${JSON.stringify(schedule)} is not an OnCalendar expression systemd accepts (systemd-analyze calendar: ${why.trim()}); e.g. *:0/5 or Mon..Fri 03:00`,
    },
  ]);
}

/** What install needs before it changes anything: systemd, a free listener port, a valid schedule. */
async function verifyHost(ctx: Context, cmd: AgentCommand, ownCommand: boolean): Promise<void> {
  const { config } = ctx;
  if (!(await systemdRunning(ctx.run))) {
    throw new RfError(
      "SYSTEMD",
      "systemd is not running here, so there is nothing to install the units into",
      {
        hint: "run rf-agent install on the server itself (systemd as init)",
      },
    );
  }
  const portOwner = webhookPortOwner(config.webhook.listen.port, config.nginx.listen, config.services);
  if (portOwner)
    throw configError(config.source, [{ section: "webhook", key: "listen", message: portOwner }]);
  await verifySchedule(ctx);
  if (ownCommand) await verifyCommand(cmd);
}

async function waitListener(ctx: Context, seconds: number): Promise<void> {
  const { listener } = ctx.layout.triggers;
  const { host, port } = ctx.config.webhook.listen;
  const target = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host;
  const url = `http://${target.includes(":") ? `[${target}]` : target}:${port}/healthz`;
  const until = ctx.now().getTime() + seconds * 1000;
  for (;;) {
    const r = await ctx.get(url, { timeoutMs: 1000 });
    if (r.status === 200) return;
    if (ctx.now().getTime() >= until) break;
    await ctx.sleep(250);
  }
  throw new RfError("HOOK", `the webhook listener (${listener}) does not answer ${url}`, {
    hint: `see \`journalctl -u ${listener}\`; fix the cause and run rf-agent install again`,
    details: `--- last lines of ${listener} ---\n${await journalTail(ctx.run, listener, 15)}`,
  });
}

export interface InstallOptions {
  /** How the units run rf-agent; default: this node, this script, this config. */
  command?: AgentCommand;
  /** Seconds to wait for the listener's /healthz after (re)starting it. */
  healthWaitSec?: number;
}

export interface Installed {
  plan: InstallPlan;
  /** The secret was made now (the forge needs the same value). */
  generatedSecret: boolean;
}

/** Install is idempotent: it writes, reloads and restarts only what changed. */
export async function installAgentUnits(ctx: Context, opts: InstallOptions = {}): Promise<Installed> {
  const { config } = ctx;
  const tl = ctx.layout.triggers;
  const cmd = opts.command ?? thisAgent(config.source);
  await verifyHost(ctx, cmd, !opts.command);
  const { generated } = await ensureSecret(config.webhook.secretFile);

  const files = renderTriggerUnits(config, tl, cmd);
  const units = [...(config.trigger.schedule ? [tl.timer] : []), tl.path, tl.listener];
  const onDisk = new Map<string, string | null>();
  for (const f of files) onDisk.set(f.path, await readIfExists(f.path));
  const enabled = new Set<string>();
  for (const u of units) if (await isEnabled(ctx.run, u)) enabled.add(u);
  const listenerInputs = sha256(
    (await readFile(config.source)).toString() +
      ((await readSecretFile(config.webhook.secretFile)) ?? "").toString(),
  );
  const plan = planInstall({
    app: config.app.name,
    files,
    units,
    listener: tl.listener,
    unitPath: tl.unitPath,
    old: await readManifest(tl.manifestPath),
    onDisk,
    enabled,
    listenerInputs,
    generatedSecret: generated ? { path: config.webhook.secretFile, content: generated } : null,
    now: ctx.now(),
  });
  await applyInstall(ctx, plan);
  await waitListener(ctx, opts.healthWaitSec ?? 15);
  return { plan, generatedSecret: generated !== null };
}

async function applyInstall(ctx: Context, plan: InstallPlan): Promise<void> {
  // A unit no longer wanted (the schedule was removed) stops before its file goes.
  await disableNow(ctx.run, plan.staleUnits);
  for (const p of plan.staleFiles) await rm(p, { force: true });
  for (const f of plan.files) await writeIfChanged(f.path, f.content, f.mode);
  if (plan.reload) await daemonReload(ctx.run);
  await enableUnits(ctx.run, plan.enable);
  await startUnits(ctx.run, plan.start);
  await startUnits(ctx.run, plan.restart, true);
  await writeManifest(ctx.layout.triggers.manifestPath, plan.manifest);
}

export interface Uninstalled {
  manifest: Manifest;
  /** The generated secret was kept: it changed since install made it. */
  keptSecret: boolean;
}

/** Removes exactly what install wrote; null when nothing is installed. */
export async function uninstallAgentUnits(ctx: Context, waitSec: number): Promise<Uninstalled | null> {
  const tl = ctx.layout.triggers;
  const manifest = await readManifest(tl.manifestPath);
  if (!manifest) return null;
  // Holding the lock, so no deploy is mid-way (and a locked exit 4 leaves everything installed):
  // first no new requests or timer runs, then the runs still queued on the lock.
  const deploys = [tl.deployUnit("timer"), tl.deployUnit("webhook")];
  await withLock(ctx, "uninstall", waitSec, async () => {
    await disableNow(ctx.run, manifest.units);
    await stopUnits(ctx.run, deploys);
  });
  for (const f of manifest.files) await rm(f.path, { force: true });
  await rm(tl.listenerState, { recursive: true, force: true });
  await rm(tl.listenerStateLink, { force: true });
  const keptSecret = manifest.generatedSecret ? await removeGeneratedSecret(manifest.generatedSecret) : false;
  await daemonReload(ctx.run);
  await resetFailed(ctx.run, [...manifest.units, ...deploys]);
  await rm(tl.manifestPath, { force: true });
  return { manifest, keptSecret };
}
