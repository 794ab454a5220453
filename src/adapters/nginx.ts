// nginx: test the config, reload it, and ask it which color it really serves.
import { readFile } from "node:fs/promises";
import { ARMED_TOKEN } from "../core/render.js";
import { RfError } from "../errors.js";
import type { Runner } from "../exec/runner.js";
import { tail } from "../exec/runner.js";
import type { HttpGet } from "./health.js";
import { enableNow, isActive, reloadUnit, signalMain } from "./systemd.js";

export const NGINX_UNIT = "nginx.service";
/** Debian's (the `pid` directive of its nginx.conf); another place falls back to systemctl. */
export const NGINX_PID_FILE = "/run/nginx.pid";

/**
 * nginx's master process from its pid file, trusted only if /proc says that process is an nginx
 * master inside nginx.service: a stale file must not send SIGHUP to whatever took the number since.
 * Signalling it ourselves spares the switch a `systemctl kill` (a process start, ~30 ms, more on a
 * busy host).
 */
export async function nginxMaster(pidFile = NGINX_PID_FILE, proc = "/proc"): Promise<number | null> {
  try {
    const pid = Number((await readFile(pidFile, "utf8")).trim());
    if (!Number.isInteger(pid) || pid <= 1) return null;
    const [cmdline, cgroup] = await Promise.all([
      readFile(`${proc}/${pid}/cmdline`, "utf8"),
      readFile(`${proc}/${pid}/cgroup`, "utf8"),
    ]);
    const isMaster = cmdline.startsWith("nginx: master process");
    const inUnit = cgroup.split("\n").some((l) => l.endsWith(`/${NGINX_UNIT}`));
    return isMaster && inUnit ? pid : null;
  } catch {
    return null;
  }
}

function signalled(pid: number): boolean {
  try {
    process.kill(pid, "SIGHUP");
    return true;
  } catch {
    return false;
  }
}

export async function testConfig(run: Runner): Promise<{ ok: boolean; output: string }> {
  const r = await run("nginx", ["-t", "-q"], { reject: false });
  return { ok: r.exitCode === 0, output: tail(`${r.stderr}\n${r.stdout}`.trim(), 10) };
}

/**
 * SIGHUP to nginx's master, which is all Debian's `ExecReload=` does, minus the second parse of the
 * whole config it makes first (`nginx -t` just did that): the switch is ~150 ms sooner. A reload
 * is proven by confirmLive, never by this returning. An nginx that is not running is started.
 */
export async function reload(run: Runner, pidFile = NGINX_PID_FILE, proc = "/proc"): Promise<void> {
  const failure = { code: "NGINX", hint: "see `systemctl status nginx` and `journalctl -u nginx`" } as const;
  const master = await nginxMaster(pidFile, proc);
  if (master !== null && signalled(master)) return;
  if (await signalMain(run, NGINX_UNIT, "HUP")) return;
  if (await isActive(run, NGINX_UNIT)) await reloadUnit(run, NGINX_UNIT, failure);
  else await enableNow(run, NGINX_UNIT, failure);
}

/** Whether nginx runs at all (`nginx -v`): it is installed. */
export async function nginxInstalled(run: Runner): Promise<boolean> {
  const r = await run("nginx", ["-v"], { reject: false }).catch(() => null);
  return r?.exitCode === 0;
}

/** nginx's version from `nginx -v` (it prints to stderr); null when it says nothing we can read. */
export async function nginxVersion(run: Runner): Promise<[number, number, number] | null> {
  const r = await run("nginx", ["-v"], { reject: false });
  const m = /nginx\/(\d+)\.(\d+)\.(\d+)/.exec(`${r.stderr}\n${r.stdout}`);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

/** `http2 on;` exists from nginx 1.25.1; before it only `listen ... http2` does. */
export function hasHttp2Directive(version: [number, number, number] | null): boolean {
  if (!version) return false;
  const [major, minor, patch] = version;
  return major > 1 || (major === 1 && (minor > 25 || (minor === 25 && patch >= 1)));
}

export interface LiveAnswer {
  color: string;
  sha: string;
}

/** What nginx answers on the loopback-only /__rf-agent/live location, or null. */
export async function askLive(get: HttpGet, listen: number, host: string): Promise<LiveAnswer | null> {
  const r = await get(`http://127.0.0.1:${listen}/__rf-agent/live`, { host, timeoutMs: 2000 });
  if (r.status !== 200) return null;
  try {
    const body = JSON.parse(r.body) as Partial<LiveAnswer>;
    return typeof body.color === "string" && typeof body.sha === "string"
      ? { color: body.color, sha: body.sha }
      : null;
  } catch {
    return null;
  }
}

/** Polls nginx until it reports this color and commit; reload returning 0 does not prove a switch. */
export async function confirmLive(
  get: HttpGet,
  listen: number,
  host: string,
  want: LiveAnswer,
  clock: { now: () => number; sleep: (ms: number) => Promise<void> },
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = clock.now() + timeoutMs;
  let last: LiveAnswer | null = null;
  while (clock.now() < deadline) {
    last = await askLive(get, listen, host).catch(() => null);
    if (last && last.color === want.color && last.sha === want.sha) return;
    // nginx's new workers answer within milliseconds of the reload: poll tightly, the switch waits on it.
    await clock.sleep(25);
  }
  throw new RfError("SWITCH", `nginx did not start serving ${want.color} ${want.sha.slice(0, 12)}`, {
    hint: "check `nginx -T` and `journalctl -u nginx`",
    details: `nginx last answered: ${last ? `${last.color} ${last.sha.slice(0, 12)}` : "nothing"}`,
  });
}

/**
 * The armed switch nginx runs, as its /__rf-agent/armed answers: a token, "-" for none, or null when
 * it gives no such answer (an include from before armed switches, or no answer at all).
 */
export async function askArmed(get: HttpGet, listen: number, host: string): Promise<string | null> {
  const r = await get(`http://127.0.0.1:${listen}/__rf-agent/armed`, { host, timeoutMs: 2000 }).catch(
    () => null,
  );
  const token = r?.status === 200 ? r.body.trim() : "";
  return token === "-" || ARMED_TOKEN.test(token) ? token : null;
}

/** Polls /__rf-agent/armed until `done` holds of its answer; the last answer, and whether it held. */
export async function waitArmed(
  get: HttpGet,
  listen: number,
  host: string,
  done: (answer: string | null) => boolean,
  clock: { now: () => number; sleep: (ms: number) => Promise<void> },
  timeoutMs = 10_000,
): Promise<{ held: boolean; answer: string | null }> {
  const deadline = clock.now() + timeoutMs;
  for (;;) {
    const answer = await askArmed(get, listen, host);
    if (done(answer)) return { held: true, answer };
    if (clock.now() >= deadline) return { held: false, answer };
    await clock.sleep(25);
  }
}
