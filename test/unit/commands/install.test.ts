import { execFileSync } from "node:child_process";
import { chmod, mkdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Config } from "../../../src/config/types.js";
import { install, uninstall } from "../../../src/commands/install.js";
import { RfError } from "../../../src/errors.js";
import { triggerLayout, type TriggerLayout } from "../../../src/core/layout.js";
import { readManifest } from "../../../src/triggers/manifest.js";
import type { AgentCommand } from "../../../src/triggers/units.js";
import { testConfig } from "../helpers/config.js";
import {
  dirsUnder,
  fakeContext,
  fakeGet,
  fakeRunner,
  ok,
  tempDir,
  type FakeRunner,
} from "../helpers/fakes.js";

let dir: string;
let cleanup: () => Promise<void>;
let tl: TriggerLayout;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  tl = triggerLayout("demo", dirsUnder(dir));
  await mkdir(path.join(dir, "etc"), { recursive: true });
  await writeFile(path.join(dir, "etc", "agent.ini"), "[app]\nrepo = /srv/origin/app.git\n");
});
afterEach(() => cleanup());

const COMMAND: AgentCommand = {
  node: "/usr/bin/node",
  script: "/opt/rf-agent/dist/cli.js",
  configPath: "/etc/rf-agent/agent.ini",
};

/** systemctl as a small state machine: which units are enabled. */
function systemd(opts: { calendarOk?: boolean } = {}): FakeRunner & { enabled: Set<string> } {
  const enabled = new Set<string>();
  const run = fakeRunner((file, args) => {
    if (file === "systemd-analyze")
      return opts.calendarOk === false
        ? { exitCode: 1, stderr: "Failed to parse calendar specification 'every tuesday': Invalid argument" }
        : {};
    if (args[0] === "is-system-running") return { stdout: "running" };
    if (args[0] === "is-enabled") return { exitCode: enabled.has(args.at(-1)!) ? 0 : 1 };
    if (args[0] === "enable") args.slice(1).forEach((u) => enabled.add(u));
    if (args[0] === "disable") args.slice(2).forEach((u) => enabled.delete(u));
    if (file === "journalctl") return { stdout: "listener: address in use" };
    return {};
  });
  return Object.assign(run, { enabled });
}

function config(patch?: (c: Config) => void): Config {
  return testConfig((c) => {
    c.source = path.join(dir, "etc", "agent.ini");
    c.trigger.schedule = "*:0/5";
    c.webhook.secretFile = path.join(dir, "etc", "webhook.secret");
    patch?.(c);
  });
}

function verbs(run: FakeRunner): string[] {
  return run.calls
    .filter((c) => c.file === "systemctl" && !["is-enabled", "is-system-running"].includes(c.args[0]!))
    .map((c) => c.args.join(" "));
}

async function runInstall(c: Config, run: FakeRunner, healthy = true) {
  const out: string[] = [];
  const ctx = fakeContext(c, {
    run,
    get: fakeGet(() => (healthy ? ok() : { status: 0, body: "" })),
    dirs: dirsUnder(dir),
    sleep: () => Promise.resolve(),
  });
  const code = await install(ctx, {
    print: (l) => out.push(l),
    command: COMMAND,
    healthWaitSec: 0,
  });
  return { code, out: out.join("\n") };
}

describe("install", () => {
  it("writes the units, makes a 0600 secret, reloads once, enables and starts them, and keeps a manifest", async () => {
    const run = systemd();
    const { code, out } = await runInstall(config(), run);
    expect(code).toBe(0);
    for (const u of [tl.deployTemplate, tl.timer, tl.path, tl.listener])
      expect((await stat(tl.unitPath(u))).mode & 0o777).toBe(0o644);
    const secretFile = path.join(dir, "etc", "webhook.secret");
    expect((await stat(secretFile)).mode & 0o777).toBe(0o600);
    expect((await readFile(secretFile, "utf8")).trim()).toMatch(/^[0-9a-f]{64}$/);
    expect(verbs(run)).toEqual([
      "daemon-reload",
      `enable ${tl.timer} ${tl.path} ${tl.listener}`,
      `start ${tl.timer} ${tl.path} ${tl.listener}`,
    ]);
    const manifest = await readManifest(tl.manifestPath);
    expect(manifest?.files.map((f) => path.basename(f.path))).toEqual([
      "rf-agent-demo-deploy@.service",
      "rf-agent-demo-deploy.timer",
      "rf-agent-demo-deploy.path",
      "rf-agent-demo-webhook.service",
    ]);
    expect(manifest?.units).toEqual([tl.timer, tl.path, tl.listener]);
    expect(manifest?.generatedSecret?.path).toBe(secretFile);
    expect(out).toContain("generated now");
    expect(out).toContain("OnCalendar=*:0/5");
    expect(out).not.toContain(await readFile(secretFile, "utf8").then((s) => s.trim()));
  });

  it("changes nothing the second time: no write, no reload, no restart", async () => {
    const run = systemd();
    await runInstall(config(), run);
    const mtime = (await stat(tl.unitPath(tl.listener))).mtimeMs;
    run.calls.length = 0;
    const { out } = await runInstall(config(), run);
    expect(verbs(run)).toEqual([`start ${tl.timer} ${tl.path} ${tl.listener}`]);
    expect((await stat(tl.unitPath(tl.listener))).mtimeMs).toBe(mtime);
    expect(out).toContain("nothing to change");
    expect(out).not.toContain("generated now");
    expect((await readManifest(tl.manifestPath))?.generatedSecret).not.toBeNull();
  });

  it("removes the timer when the schedule goes, and restarts the listener when the config changes", async () => {
    const run = systemd();
    await runInstall(config(), run);
    run.calls.length = 0;
    await writeFile(path.join(dir, "etc", "agent.ini"), "[app]\nrepo = /srv/origin/app.git\n; edited\n");
    const { out } = await runInstall(
      config((c) => (c.trigger.schedule = null)),
      run,
    );
    expect(verbs(run)).toEqual([
      `disable --now ${tl.timer}`,
      "daemon-reload",
      `start ${tl.path}`,
      `restart ${tl.listener}`,
    ]);
    await expect(stat(tl.unitPath(tl.timer))).rejects.toThrow();
    expect(out).toMatch(/rf-agent-demo-deploy\.timer +removed/);
    expect((await readManifest(tl.manifestPath))?.units).toEqual([tl.path, tl.listener]);
  });

  it("refuses a schedule systemd-analyze rejects, exit 2 naming the key, writing nothing", async () => {
    const e = (await runInstall(
      config((c) => (c.trigger.schedule = "every tuesday")),
      systemd({ calendarOk: false }),
    ).catch((x: unknown) => x)) as RfError;
    expect(e).toBeInstanceOf(RfError);
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain(
      '[trigger] schedule: "every tuesday" is not an OnCalendar expression systemd accepts',
    );
    expect(e.message).toContain("Failed to parse calendar specification");
    await expect(stat(tl.unitPath(tl.deployTemplate))).rejects.toThrow();
    await expect(stat(path.join(dir, "etc", "webhook.secret"))).rejects.toThrow();
  });

  it("refuses a secret others can read, with the chmod to run", async () => {
    const secretFile = path.join(dir, "etc", "webhook.secret");
    await writeFile(secretFile, "f".repeat(64));
    await chmod(secretFile, 0o644);
    const e = (await runInstall(config(), systemd()).catch((x: unknown) => x)) as RfError;
    expect(e.exitCode).toBe(2);
    expect(e.hint).toBe(`chmod 600 ${secretFile}`);
  });

  it("never chmods an existing directory: a secret file in it leaves its mode alone", async () => {
    const shared = path.join(dir, "etc-like");
    await mkdir(shared);
    await chmod(shared, 0o755);
    const { code } = await runInstall(
      config((c) => (c.webhook.secretFile = path.join(shared, "webhook.secret"))),
      systemd(),
    );
    expect(code).toBe(0);
    expect((await stat(shared)).mode & 0o777).toBe(0o755);
    expect((await stat(path.join(shared, "webhook.secret"))).mode & 0o777).toBe(0o600);
  });

  it("makes the directories it creates for the secret 0700", async () => {
    const made = path.join(dir, "new", "deeper");
    await runInstall(
      config((c) => (c.webhook.secretFile = path.join(made, "webhook.secret"))),
      systemd(),
    );
    expect((await stat(path.join(dir, "new"))).mode & 0o777).toBe(0o700);
    expect((await stat(made)).mode & 0o777).toBe(0o700);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
  });

  it("refuses a secret file that is a symlink, without reading through it", async () => {
    const secretFile = path.join(dir, "etc", "webhook.secret");
    await writeFile(path.join(dir, "elsewhere"), "f".repeat(64), { mode: 0o600 });
    await symlink(path.join(dir, "elsewhere"), secretFile);
    const e = (await runInstall(config(), systemd()).catch((x: unknown) => x)) as RfError;
    expect(e).toBeInstanceOf(RfError);
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe(`webhook secret file ${secretFile} ([webhook] secret_file) is a symbolic link`);
  });

  it("refuses a FIFO as the secret file without blocking on it", async () => {
    const secretFile = path.join(dir, "etc", "webhook.secret");
    execFileSync("mkfifo", ["-m", "600", secretFile]);
    const e = (await runInstall(config(), systemd()).catch((x: unknown) => x)) as RfError;
    expect(e.message).toContain("is not a regular file");
  });

  it("refuses the default webhook port when a service already has it", async () => {
    const e = (await runInstall(
      config((c) => (c.services[0]!.ports.blue = 9000)),
      systemd(),
    ).catch((x: unknown) => x)) as RfError;
    expect(e.message).toContain("[webhook] listen: port 9000 is also a port of [service.api]");
  });

  it("fails with the listener's journal when it does not answer /healthz", async () => {
    const e = (await runInstall(config(), systemd(), false).catch((x: unknown) => x)) as RfError;
    expect(e.message).toContain("does not answer http://127.0.0.1:9000/healthz");
    expect(e.details).toContain("listener: address in use");
  });
});

describe("uninstall", () => {
  async function runUninstall(run: FakeRunner) {
    const out: string[] = [];
    const ctx = fakeContext(config(), { run, dirs: dirsUnder(dir) });
    await uninstall(ctx, { print: (l) => out.push(l), waitSec: 0 });
    return out.join("\n");
  }

  it("stops and removes exactly what install wrote, the listener's state and the secret it made", async () => {
    const run = systemd();
    await runInstall(config(), run);
    await mkdir(tl.spoolDir, { recursive: true });
    await writeFile(path.join(tl.spoolDir, "1-aa.json"), "{}");
    run.calls.length = 0;
    const out = await runUninstall(run);
    expect(verbs(run)).toEqual([
      `disable --now ${tl.timer} ${tl.path} ${tl.listener}`,
      `stop ${tl.deployUnit("timer")} ${tl.deployUnit("webhook")}`,
      "daemon-reload",
      `reset-failed ${tl.timer} ${tl.path} ${tl.listener} ${tl.deployUnit("timer")} ${tl.deployUnit("webhook")}`,
    ]);
    for (const p of [
      tl.unitPath(tl.deployTemplate),
      tl.unitPath(tl.timer),
      tl.listenerState,
      tl.manifestPath,
      path.join(dir, "etc", "webhook.secret"),
    ])
      await expect(stat(p), p).rejects.toThrow();
    expect(await readFile(path.join(dir, "etc", "agent.ini"), "utf8")).toContain("[app]");
    expect(out).toContain("rf-agent-demo-webhook.service");
  });

  it("keeps a secret that was replaced since install made it", async () => {
    await runInstall(config(), systemd());
    const secretFile = path.join(dir, "etc", "webhook.secret");
    await writeFile(secretFile, "e".repeat(64));
    const out = await runUninstall(systemd());
    expect(await readFile(secretFile, "utf8")).toBe("e".repeat(64));
    expect(out).toContain("kept");
  });

  it("keeps, and does not follow, a link put where the secret it made was", async () => {
    await runInstall(config(), systemd());
    const secretFile = path.join(dir, "etc", "webhook.secret");
    const target = path.join(dir, "target");
    await writeFile(target, await readFile(secretFile));
    await rm(secretFile);
    await symlink(target, secretFile);
    const out = await runUninstall(systemd());
    expect(out).toContain("kept");
    expect(await readFile(target, "utf8")).toMatch(/^[0-9a-f]{64}\n$/);
  });

  it("leaves everything installed when a deploy holds the lock (exit 4)", async () => {
    const run = systemd();
    await runInstall(config(), run);
    const { acquireLock } = await import("../../../src/adapters/lock.js");
    const layout = fakeContext(config(), { dirs: dirsUnder(dir) }).layout;
    const lock = await acquireLock(run, layout.lockPath, layout.lockHolderPath, 0, "rf-agent deploy");
    run.calls.length = 0;
    try {
      const e = (await runUninstall(run).catch((x: unknown) => x)) as RfError;
      expect(e.exitCode).toBe(4);
    } finally {
      await lock.release();
    }
    expect(verbs(run)).toEqual([]);
    expect(await readManifest(tl.manifestPath)).not.toBeNull();
  });

  it("says so when nothing is installed", async () => {
    const run = systemd();
    expect(await runUninstall(run)).toContain("nothing installed for demo");
    expect(run.calls).toEqual([]);
  });
});
