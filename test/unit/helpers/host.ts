// A pretend host in a temp dir for the ops tests: nginx, systemd and the services are fakes
// that keep just enough state to answer like the real ones.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Color, Config } from "../../../src/config/types.js";
import type { Context } from "../../../src/context.js";
import type { RunOptions, RunResult } from "../../../src/exec/runner.js";
import {
  parseArmedSwitch,
  parseLiveInclude,
  renderLiveInclude,
  type ArmedSwitch,
} from "../../../src/core/render.js";
import { testConfig } from "./config.js";
import { captureLogger, dirsUnder, fakeContext, fakeGet, fakeRunner, ok, status } from "./fakes.js";

export interface HostModel {
  /** What nginx serves now; a reload makes it what the include on disk says. */
  served: { color: Color; sha: string } | null;
  /** Whether each color's services answer their health checks. */
  healthy: Record<Color, boolean>;
  /** Whether each color's units are active (systemctl is-active). */
  active: Record<Color, boolean>;
  /** Whether `nginx -t` accepts the configuration. */
  nginxOk: boolean;
  /** Whether nginx falls back to the other color (as of the last reload). */
  fallback: boolean;
  /** The armed switch of the include nginx loaded: it serves `to` while the flag file exists. */
  armed: ArmedSwitch | null;
}

export function hostModel(over: Partial<HostModel> = {}): HostModel {
  return {
    served: null,
    healthy: { blue: true, green: true },
    active: { blue: false, green: false },
    nginxOk: true,
    fallback: false,
    armed: null,
    ...over,
  };
}

function colorOfUnit(unit: string): Color | null {
  return unit.includes("@green.") ? "green" : unit.includes("@blue.") ? "blue" : null;
}

/**
 * A Context on a Debian-like host under `dir` (sites-enabled exists, as the nginx package makes it),
 * the app root under `dir` too; `host` is read and updated as commands run.
 */
export async function fakeHost(
  dir: string,
  host: HostModel,
  parts: {
    patch?: (c: Config) => void;
    sleep?: (ms: number) => Promise<void>;
    /** Asked first; undefined falls through to the model's nginx and systemd. */
    respond?: (
      file: string,
      args: string[],
      options?: RunOptions,
    ) => Partial<RunResult> | Promise<Partial<RunResult>> | undefined;
  } = {},
) {
  const run = fakeRunner((file, args, options) => {
    const answer = parts.respond?.(file, args, options);
    if (answer) return answer;
    if (file === "nginx")
      return host.nginxOk ? {} : { exitCode: 1, stderr: "nginx: [emerg] rejected by the test" };
    if (file !== "systemctl") return {};
    const [verb, ...rest] = args;
    // nginx reloads on the HUP rf-agent sends its master (or on systemctl reload); a config its test
    // rejects, it refuses to load and serves on what it had
    const reloads = verb === "reload" || (verb === "kill" && rest.includes("--signal=HUP"));
    if (reloads && host.nginxOk) {
      const text = readFileSync(ctx.layout.liveIncludePath, "utf8");
      const live = parseLiveInclude(text);
      host.served = live && { color: live.color, sha: live.sha };
      host.fallback = live?.fallback ?? false;
      host.armed = parseArmedSwitch(text);
    }
    if (verb === "is-active") {
      const color = colorOfUnit(rest.at(-1) ?? "");
      return { exitCode: color === null || host.active[color] ? 0 : 3 };
    }
    // activeStates() and statuses(): one block per unit, as systemd prints them; never restarted
    if (verb === "show" && rest[0]?.startsWith("--property=Id,ActiveState")) {
      const blocks = rest.slice(1).map((unit) => {
        const color = colorOfUnit(unit);
        return `Id=${unit}\nActiveState=${color && host.active[color] ? "active" : "inactive"}\nNRestarts=0`;
      });
      return { stdout: blocks.join("\n\n") };
    }
    // enable/disable make and remove the multi-user.target.wants links, as systemctl does
    if ((verb === "enable" || verb === "disable") && rest[0] === "--no-reload") {
      const wants = path.join(dirsUnder(dir).systemdDir, "multi-user.target.wants");
      mkdirSync(wants, { recursive: true });
      for (const unit of rest.slice(1)) {
        rmSync(path.join(wants, unit), { force: true });
        if (verb === "enable") symlinkSync(`../${unit.replace(/@[a-z]+\./, "@.")}`, path.join(wants, unit));
      }
    }
    if (verb === "stop" || verb === "restart" || verb === "start") {
      for (const unit of rest) {
        const color = colorOfUnit(unit);
        if (color) host.active[color] = verb !== "stop";
      }
    }
    return {};
  });
  const get = fakeGet((url) => {
    // like nginx, the armed switch's flag is looked at on every request
    if (url.endsWith("/__rf-agent/live")) {
      const to = host.armed && existsSync(host.armed.flag) ? host.armed.to : null;
      const served = to ? { color: to.color, sha: to.sha } : host.served;
      return served ? ok(JSON.stringify({ app: ctx.config.app.name, ...served })) : status(0, "ECONNREFUSED");
    }
    if (url.endsWith("/__rf-agent/armed")) {
      return host.served ? ok(`${host.armed?.token ?? "-"}\n`) : status(0, "ECONNREFUSED");
    }
    const port = Number(/:(\d+)\//.exec(url)?.[1]);
    const service = ctx.config.services.find((s) => s.ports.blue === port || s.ports.green === port);
    const color: Color = service?.ports.blue === port ? "blue" : "green";
    return host.healthy[color] ? ok() : status(503, "unhealthy");
  });
  const { log, records } = captureLogger();
  const config = testConfig((c) => {
    c.app.root = path.join(dir, "srv", c.app.name);
    parts.patch?.(c);
  });
  // The fakes above read ctx only when called, after this line.
  const ctx: Context = fakeContext(config, { run, get, log, dirs: dirsUnder(dir), sleep: parts.sleep });
  await mkdir(path.dirname(ctx.layout.siteLinkPath), { recursive: true });
  return { ctx, run, get, records };
}

/** Units enabled for boot: the multi-user.target.wants links under the pretend host's systemd dir. */
export function enabledUnits(dir: string): string[] {
  const wants = path.join(dirsUnder(dir).systemdDir, "multi-user.target.wants");
  return existsSync(wants) ? readdirSync(wants).sort() : [];
}

/** Writes the live include as a previous run would have. */
export async function writeInclude(ctx: Context, color: Color, commit: string): Promise<void> {
  const f = renderLiveInclude(ctx.config, ctx.layout, color, commit);
  await mkdir(path.dirname(f.path), { recursive: true });
  await writeFile(f.path, f.content);
}
