// rf-agent install / uninstall: the agent's own units for one app. The deploy service template, the
// timer ([trigger] schedule), the .path unit and the webhook listener. Install is idempotent: it
// writes, reloads and restarts only what changed; uninstall removes exactly what install wrote.
import { randomBytes } from "node:crypto";
import { constants, realpathSync, statSync } from "node:fs";
import { mkdir, open, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { writeAtomic, writeIfChanged } from "../adapters/files.js";
import { daemonReload, journalTail, resetFailed, systemdRunning } from "../adapters/systemd.js";
import { webhookPortOwner } from "../config/build.js";
import { configError } from "../config/problems.js";
import type { Context } from "../context.js";
import { RfError } from "../errors.js";
import { triggerLayout, type TriggerLayout } from "../triggers/layout.js";
import { readManifest, sha256, writeManifest, type Manifest } from "../triggers/manifest.js";
import { checkCalendar, disableNow, enableMissing, startUnits, stopUnits } from "../triggers/systemctl.js";
import { listenText, renderTriggerUnits, type AgentCommand } from "../triggers/units.js";
import { checkSecretFile } from "../webhook/secret.js";
import { withLock } from "../ops/recorded.js";
import { selfCommand } from "../exec/self.js";

export interface InstallOptions {
  print: (line: string) => void;
  /** How the units run rf-agent; default: this node, this script, this config. */
  command?: AgentCommand;
  layout?: TriggerLayout;
  /** Seconds to wait for the listener's /healthz after (re)starting it. */
  healthWaitSec?: number;
}

export function thisAgent(configPath: string): AgentCommand {
  // The single executable is node and script in one: no script beside it.
  const [node, script = ""] = selfCommand();
  return { node, script, configPath: path.resolve(configPath) };
}

// The listener runs as a throwaway user with ProtectHome=yes and PrivateTmp=yes: it cannot reach
// node or rf-agent under /root or /home (nvm, a clone in a home directory) or in /tmp, nor files
// only root may read.
const HIDDEN = ["/root", "/home", "/run/user", "/tmp", "/var/tmp"];
function unreachable(file: string): string | undefined {
  let real: string;
  try {
    real = realpathSync(file);
  } catch {
    return `${file} does not exist`;
  }
  if (HIDDEN.some((h) => real === h || real.startsWith(`${h}/`)))
    return `${real} is under ${HIDDEN.join(", ")}, which the listener's sandbox hides`;
  for (let dir = path.dirname(real); ; dir = path.dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return `${dir} is not searchable by other users (chmod o+x)`;
    if (dir === "/") break;
  }
  if ((statSync(real).mode & 0o004) === 0) return `${real} is not readable by other users (chmod o+r)`;
  return undefined;
}

function checkCommand(cmd: AgentCommand): void {
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
    const why = unreachable(file);
    if (why) {
      throw new RfError("USAGE", `the webhook listener could not run ${what}: ${why}`, {
        hint: "install rf-agent system-wide (README, Installing on a server: the single executable in /usr/local/bin, or the release tarball with npm install -g) and run that rf-agent install",
      });
    }
  }
}

async function checkSchedule(ctx: Context): Promise<void> {
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

/**
 * The directories missing on the way to `dir`, made root's and 0700. One that exists is never
 * chmodded: `secret_file = /etc/x` must not make /etc 0700.
 */
export async function makeMissingDirs(dir: string): Promise<void> {
  // mkdir -p applies the mode only to the directories it creates.
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

// A webhook secret is 64 hex digits; anything much larger is not one.
const MAX_SECRET_BYTES = 64 * 1024;

/**
 * The secret file's bytes, or null when it does not exist: opened without following a link and
 * without blocking on a FIFO, and only when it is a regular file of sane size.
 */
export async function readSecretFile(file: string): Promise<Buffer | null> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    if (code === "ELOOP") throw secretFileRefused(file, "is a symbolic link");
    throw e;
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw secretFileRefused(file, "is not a regular file");
    if (st.size > MAX_SECRET_BYTES) throw secretFileRefused(file, `is ${st.size} bytes, not a secret`);
    const buf = Buffer.alloc(st.size + 1);
    let n = 0;
    for (let r; (r = await handle.read(buf, n, buf.length - n, n)).bytesRead > 0;) {
      n += r.bytesRead;
      if (n === buf.length) throw secretFileRefused(file, "changed while rf-agent read it");
    }
    return buf.subarray(0, n);
  } finally {
    await handle.close();
  }
}

function secretFileRefused(file: string, why: string): RfError {
  return new RfError("CONFIG", `webhook secret file ${file} ([webhook] secret_file) ${why}`, {
    hint: `point [webhook] secret_file at a regular file of root's, e.g. (umask 077; openssl rand -hex 32 > ${file})`,
  });
}

/** The secret the forge and the listener share: made on first install (0600), else checked. */
async function ensureSecret(file: string): Promise<{ generated: string | null }> {
  if ((await readSecretFile(file)) !== null) {
    await checkSecretFile(file);
    return { generated: null };
  }
  const secret = randomBytes(32).toString("hex");
  await makeMissingDirs(path.dirname(file));
  await writeAtomic(file, secret + "\n", 0o600);
  return { generated: secret + "\n" };
}

async function waitListener(ctx: Context, tl: TriggerLayout, seconds: number): Promise<void> {
  const { host, port } = ctx.config.webhook.listen;
  const target = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host;
  const url = `http://${target.includes(":") ? `[${target}]` : target}:${port}/healthz`;
  const until = Date.now() + seconds * 1000;
  for (;;) {
    const r = await ctx.get(url, { timeoutMs: 1000 });
    if (r.status === 200) return;
    if (Date.now() >= until) break;
    await ctx.sleep(250);
  }
  throw new RfError("HOOK", `the webhook listener (${tl.listener}) does not answer ${url}`, {
    hint: `see \`journalctl -u ${tl.listener}\`; fix the cause and run rf-agent install again`,
    details: `--- last lines of ${tl.listener} ---\n${await journalTail(ctx.run, tl.listener, 15)}`,
  });
}

export async function install(ctx: Context, opts: InstallOptions): Promise<number> {
  const { config } = ctx;
  const tl = opts.layout ?? triggerLayout(config.app.name);
  const cmd = opts.command ?? thisAgent(config.source);
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
  await checkSchedule(ctx);
  if (!opts.command) checkCommand(cmd);
  const { generated } = await ensureSecret(config.webhook.secretFile);

  const files = renderTriggerUnits(config, tl, cmd);
  const units = [...(config.trigger.schedule ? [tl.timer] : []), tl.path, tl.listener];
  const old = await readManifest(tl.manifestPath);
  const wanted = new Set(files.map((f) => f.path));
  const staleFiles = (old?.files ?? []).map((f) => f.path).filter((p) => !wanted.has(p));
  const staleUnits = (old?.units ?? []).filter((u) => !units.includes(u));

  // A unit no longer wanted (the schedule was removed) stops before its file goes.
  await disableNow(ctx.run, staleUnits);
  for (const p of staleFiles) await rm(p, { force: true });
  const changed = new Set<string>();
  for (const f of files) if (await writeIfChanged(f.path, f.content, f.mode)) changed.add(f.path);
  if (changed.size > 0 || staleFiles.length > 0) await daemonReload(ctx.run);

  const enabled = await enableMissing(ctx.run, units);
  const inputs = sha256(
    (await readFile(config.source)).toString() +
      ((await readSecretFile(config.webhook.secretFile)) ?? "").toString(),
  );
  // Only what ran before and changed: a first start is a start.
  const restart = units.filter(
    (u) =>
      old?.units.includes(u) &&
      (changed.has(tl.unitPath(u)) || (u === tl.listener && old.listenerInputs !== inputs)),
  );
  await startUnits(
    ctx.run,
    units.filter((u) => !restart.includes(u)),
  );
  await startUnits(ctx.run, restart, true);

  const manifest: Manifest = {
    version: 1,
    app: config.app.name,
    installedAt: old?.installedAt ?? ctx.now().toISOString(),
    files: files.map((f) => ({ path: f.path, sha256: sha256(f.content) })),
    units,
    generatedSecret: generated
      ? { path: config.webhook.secretFile, sha256: sha256(generated) }
      : (old?.generatedSecret ?? null),
    listenerInputs: inputs,
  };
  await writeManifest(tl.manifestPath, manifest);
  await waitListener(ctx, tl, opts.healthWaitSec ?? 15);

  const nothing =
    changed.size === 0 && staleFiles.length === 0 && enabled.length === 0 && restart.length === 0;
  const print = opts.print;
  print(
    nothing
      ? `rf-agent install: nothing to change for ${config.app.name}`
      : `rf-agent install: ${config.app.name}`,
  );
  for (const f of files)
    print(`  ${path.basename(f.path).padEnd(40)} ${changed.has(f.path) ? "written" : "unchanged"}`);
  for (const p of staleFiles) print(`  ${path.basename(p).padEnd(40)} removed`);
  if (config.trigger.schedule)
    print(`timer:    OnCalendar=${config.trigger.schedule} (systemctl list-timers ${tl.timer})`);
  else print("timer:    none ([trigger] schedule is empty)");
  print(
    `webhook:  POST http://${listenText(config.webhook.listen)}/hooks/${config.app.name} (${config.webhook.provider}), listener healthy`,
  );
  print(
    `secret:   ${config.webhook.secretFile}${generated ? " (generated now: set the same value as the webhook's secret in the forge)" : ""}`,
  );
  return 0;
}

export interface UninstallOptions {
  print: (line: string) => void;
  waitSec: number;
  layout?: TriggerLayout;
}

export async function uninstall(ctx: Context, opts: UninstallOptions): Promise<number> {
  const tl = opts.layout ?? triggerLayout(ctx.config.app.name);
  const manifest = await readManifest(tl.manifestPath);
  if (!manifest) {
    opts.print(`rf-agent uninstall: nothing installed for ${ctx.config.app.name} (no ${tl.manifestPath})`);
    return 0;
  }
  // Holding the lock, so no deploy is mid-way (and a locked exit 4 leaves everything installed):
  // first no new requests or timer runs, then the runs still queued on the lock.
  const deploys = [tl.deployUnit("timer"), tl.deployUnit("webhook")];
  await withLock(ctx, "uninstall", opts.waitSec, async () => {
    await disableNow(ctx.run, manifest.units);
    await stopUnits(ctx.run, deploys);
  });
  for (const f of manifest.files) await rm(f.path, { force: true });
  await rm(tl.listenerState, { recursive: true, force: true });
  await rm(tl.listenerStateLink, { force: true });
  const secret = manifest.generatedSecret;
  let keptSecret = false;
  if (secret) {
    // Whatever is there now (a link, a FIFO: not ours) is kept, and never followed.
    const now = await readSecretFile(secret.path).catch(() => "not ours");
    if (now !== null && sha256(now) === secret.sha256) await rm(secret.path, { force: true });
    else keptSecret = now !== null;
  }
  await daemonReload(ctx.run);
  await resetFailed(ctx.run, [...manifest.units, ...deploys]);
  await rm(tl.manifestPath, { force: true });
  opts.print(`rf-agent uninstall: ${ctx.config.app.name}`);
  for (const f of manifest.files) opts.print(`  ${path.basename(f.path).padEnd(40)} removed`);
  opts.print(`  ${tl.listenerState.padEnd(40)} removed (delivery ids, pending requests)`);
  if (secret)
    opts.print(
      `  ${secret.path.padEnd(40)} ${keptSecret ? "kept: it changed since install made it" : "removed"}`,
    );
  return 0;
}
