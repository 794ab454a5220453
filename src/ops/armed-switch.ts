// A deploy's switch without nginx's reload on its critical path. A reload makes nginx's master
// sleep 100 ms before its old workers stop taking connections, so the switch used to wait that long
// after the health gate passed. Instead, while the gate runs, the live include is rendered "the
// live color, unless the flag file F exists: then the new color" and reloaded; the switch is then
// creating F, which nginx checks on every request. The plain include for the new color follows at
// once, and its reload runs beside the watch. F is removed only once nginx runs no configuration
// that reads it, so removing it can never send a request back to the old color.
import { readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { ensureDir, writeAtomic } from "../adapters/files.js";
import { readLiveInclude } from "../adapters/live-include.js";
import { askArmed, confirmLive, reload, testConfig, waitArmed } from "../adapters/nginx.js";
import { nginxHost, type Context } from "../context.js";
import { isRfError } from "../errors.js";
import { ARMED_TOKEN, renderLiveInclude, type ArmedSwitch, type LiveRoute } from "../core/render.js";
import { randomHex } from "../exec/random.js";
import { applyNginx, clockOf, onlyLiveChanges } from "./nginx-routing.js";

const why = (e: unknown) => (isRfError(e) ? e.message : String(e));

/** What nginx answers on /__rf-agent/armed while it runs a plain include. */
const NONE = "-";

function askNginx(ctx: Context) {
  return [ctx.get, ctx.config.nginx.listen, nginxHost(ctx.config)] as const;
}

/**
 * Arms the switch to `to` (tested, reloaded, and confirmed loaded); null when it cannot be armed,
 * and the switch reloads as before: the site itself changes, nginx -t refuses, nginx does not
 * answer. Never rejects.
 */
export async function armSwitch(ctx: Context, to: LiveRoute): Promise<ArmedSwitch | null> {
  const { config, layout, log } = ctx;
  try {
    const live = await readLiveInclude(layout);
    if (!live || live.armed || live.route.color === to.color || !(await onlyLiveChanges(ctx))) return null;
    const token = randomHex(8);
    const armed: ArmedSwitch = { to, token, flag: path.join(layout.armedFlagsDir, token) };
    // nginx's workers (www-data) stat the flag: the directory is root's and readable by all.
    await ensureDir(layout.armedFlagsDir, 0o755);
    const { base } = live;
    await applyNginx(ctx, [renderLiveInclude(config, layout, base.color, base.sha, base.fallback, armed)]);
    const loaded = await waitArmed(...askNginx(ctx), (t) => t === token, clockOf(ctx));
    if (!loaded.held) throw new Error(`nginx answered ${loaded.answer ?? "nothing"} for its armed switch`);
    log.debug({ token }, "switch armed");
    return armed;
  } catch (e) {
    log.info({ err: why(e) }, "the switch could not be armed ahead; nginx switches with a reload");
    return null;
  }
}

/**
 * The switch: the flag created and nginx confirmed serving `to` by it, then the plain include for
 * `to` written. Returns false (the flag removed, nginx serving as before) when nginx does not take
 * it, and the caller switches with a reload. The plain include's reload is afterArmedSwitch's.
 */
export async function switchArmed(ctx: Context, armed: ArmedSwitch): Promise<boolean> {
  const { config, layout, log } = ctx;
  const { to } = armed;
  try {
    await writeFile(armed.flag, "", { flag: "wx", mode: 0o644 });
    await confirmLive(...askNginx(ctx), { color: to.color, sha: to.sha }, clockOf(ctx), 2_000);
  } catch (e) {
    await rm(armed.flag, { force: true });
    log.warn({ err: why(e) }, "nginx did not switch by the armed flag; switching with a reload");
    return false;
  }
  const plain = renderLiveInclude(config, layout, to.color, to.sha, to.fallback);
  await writeAtomic(plain.path, plain.content, plain.mode);
  return true;
}

/**
 * After switchArmed, beside the watch: the plain include it wrote is reloaded (tested when armed:
 * it is the armed one less its flag's block). Returns when nginx was seen running it (ctx.now()
 * ms), or undefined; settleArmed removes the flag at the end of the run.
 */
export async function afterArmedSwitch(ctx: Context): Promise<number | undefined> {
  await reload(ctx.run);
  const loaded = await waitArmed(...askNginx(ctx), (t) => t === NONE, clockOf(ctx));
  if (loaded.held) return ctx.now().getTime();
  const test = await testConfig(ctx.run);
  ctx.log.warn(
    { nginx: loaded.answer, test: test.ok ? "ok" : test.output },
    "nginx did not load the plain include after the armed switch; it serves the new color by its flag, which stays",
  );
  return undefined;
}

/**
 * At the start of every run and at the end of one that armed a switch: an include still armed (a
 * failed gate, a run stopped) is made plain for the route it gives now, which its flag decides,
 * and flags nginx no longer reads are removed. `plainAt`: when nginx was seen running a plain
 * include (afterArmedSwitch). A failure is a warning: an armed include routes as its flag says,
 * which is right either way.
 */
export async function settleArmed(ctx: Context, plainAt?: number): Promise<void> {
  const { config, layout, log } = ctx;
  try {
    const live = await readLiveInclude(layout);
    let reloaded = false;
    if (live?.armed) {
      const r = live.route;
      await applyNginx(ctx, [renderLiveInclude(config, layout, r.color, r.sha, r.fallback)]);
      reloaded = true;
      log.info({ color: r.color }, `the armed switch is settled: nginx serves ${r.color}, as it did`);
    }
    await pruneFlags(ctx, reloaded, plainAt);
  } catch (e) {
    log.warn({ err: why(e) }, `an armed switch could not be settled (nginx routes by its flag): ${why(e)}`);
  }
}

// nginx's master tells its old workers to stop taking connections 100 ms after a reload; what they
// took by then was routed when its request line and headers came. Far more than enough.
const OLD_WORKERS_MS = 1_000;

/**
 * With the include plain (settleArmed made it so): removes every flag once nginx runs a plain
 * include and its old workers have stopped taking requests. A configuration still reading a flag
 * (a run stopped between writing the plain include and reloading it) is replaced first, so removing
 * a flag can never change where nginx routes.
 */
async function pruneFlags(ctx: Context, reloaded: boolean, plainAt?: number): Promise<void> {
  const { layout, log } = ctx;
  const names = await readdir(layout.armedFlagsDir).catch(() => [] as string[]);
  const flags = names.filter((f) => ARMED_TOKEN.test(f));
  if (flags.length === 0) return;
  let since = reloaded ? undefined : plainAt;
  if (!reloaded) {
    const answer = await askArmed(...askNginx(ctx));
    if (answer === null) {
      log.warn({ flags }, "nginx does not say which armed switch it runs; the flags stay until it does");
      return;
    }
    if (answer !== NONE) {
      await reload(ctx.run);
      since = undefined;
    }
  }
  const loaded = await waitArmed(...askNginx(ctx), (t) => t === NONE, clockOf(ctx));
  if (!loaded.held) {
    const test = await testConfig(ctx.run);
    log.warn(
      { nginx: loaded.answer, test: test.ok ? "ok" : test.output },
      "nginx still runs the configuration of an armed switch; its flag stays until a later run",
    );
    return;
  }
  const wait = (since ?? ctx.now().getTime()) + OLD_WORKERS_MS - ctx.now().getTime();
  if (wait > 0) await ctx.sleep(wait);
  for (const f of flags) await rm(path.join(layout.armedFlagsDir, f), { force: true });
}
