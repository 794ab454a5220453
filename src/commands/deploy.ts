// rf-agent deploy: the idle color gets the new commit, proves itself healthy, then takes the traffic.
import { hasCheckout, isSha, lsRemote } from "../adapters/git.js";
import { readIfExists } from "../adapters/files.js";
import { saveState } from "../adapters/state-store.js";
import type { Context } from "../context.js";
import { RfError } from "../errors.js";
import { other } from "../core/layout.js";
import { formatPlan, planDeploy } from "../core/plan.js";
import { renderLiveInclude, renderSite, renderUnits } from "../core/render.js";
import { idleColor, withSlot } from "../core/state.js";
import { cutover } from "../ops/cutover.js";
import { ensureAppUser, ensureRoot, gitUser } from "../ops/host.js";
import { branchMissing, fetchCommit, installCommit } from "../ops/release.js";
import { readState, reconcile } from "../ops/reconcile.js";
import { checkPorts, healthGate, startColor, stopColor } from "../ops/start.js";
import { recorded, type Outcome } from "../ops/recorded.js";
import { serveWebhookRequests } from "../ops/webhook-requests.js";
import type { Color } from "../config/types.js";
import { checkRequiredEnv } from "../ops/env.js";
import { runPostHook, runPreSwitch } from "../ops/release-hook-steps.js";
import { dropFallback, ensureCertificate, previewUrl, showInPreview } from "../ops/nginx-routing.js";
import { siteCertificate } from "../ops/certificate.js";
import { fileDiff } from "../adapters/diff.js";

export interface DeployOptions {
  ref?: string;
  force: boolean;
  dryRun: boolean;
  waitSec: number;
  /** Install and health-check the idle color, show it in the preview, and stop there. */
  noSwitch?: boolean;
  /** Printed for the user (stdout); logs go to stderr/journal. */
  print: (line: string) => void;
}

/** Cheap: asks the remote, without touching any checkout. null when it cannot tell. */
async function remoteSha(ctx: Context, ref: string | undefined): Promise<string | null> {
  if (ref && isSha(ref)) return ref;
  const name = ref ?? ctx.config.app.branch;
  const sha = await lsRemote(ctx.config.app.repo, name, gitUser(ctx));
  if (!sha && !ref) throw branchMissing(ctx.config.app);
  return sha;
}

export async function deploy(ctx: Context, opts: DeployOptions): Promise<Outcome> {
  if (opts.dryRun) return dryRun(ctx, opts);
  return recorded(ctx, "deploy", opts.waitSec, async (run) => {
    // Holding the lock, before the branch tip is read: pending webhook requests are served by this run.
    if (!opts.ref) await serveWebhookRequests(ctx, run);
    const user = await ensureAppUser(ctx);
    await ensureRoot(ctx, user);
    let state = await reconcile(ctx, { askNginx: "on-disagreement" });
    const live = state.live ? { color: state.live.color, sha: state.live.sha } : null;
    run.from = live;
    const idle = idleColor(state);
    // One trip to the remote: the fetch into the idle checkout says what the tip is. Only a missing
    // checkout is asked first (ls-remote), as cloning it just to find nothing new is not worth it.
    const cloneFirst = !(await hasCheckout(ctx.layout.checkout(idle)));
    const quick = cloneFirst || (opts.ref && isSha(opts.ref)) ? await remoteSha(ctx, opts.ref) : null;
    if (quick && live && quick === live.sha && !opts.force) return alreadyLive(ctx, opts, live);
    if (opts.noSwitch && !live) {
      throw new RfError("USAGE", "--no-switch needs a live version to stay in front; nothing is live yet", {
        hint: "run `rf-agent deploy` without --no-switch for the first deploy",
      });
    }
    ctx.log = ctx.log.child({ color: idle });
    const sha = await fetchCommit(ctx, run.steps, idle, opts.ref, user);
    if (live && sha === live.sha && !opts.force) return alreadyLive(ctx, opts, live);
    ctx.log = ctx.log.child({ sha: sha.slice(0, 12) });
    run.to = { color: idle, sha };
    // Before anything starts: the environment the new color's services will get.
    await checkRequiredEnv(ctx, idle);
    // nginx stops falling back to the idle color (the last deploy's old one) before anything of
    // this release starts there; alongside the install, which takes longer.
    const fallbackOff = dropFallback(ctx);
    fallbackOff.catch(() => undefined); // awaited below, unless the install fails first
    try {
      await installCommit(ctx, run.steps, idle, sha, user);
      if (await fallbackOff) ctx.log.info({ color: idle }, `nginx no longer falls back to ${idle}`);
      state = withSlot(state, idle, sha, ctx.now());
      state = { ...state, standby: state.standby?.color === idle ? null : state.standby };
      await saveState(ctx.layout, state);
      await run.steps.run("ports", () => checkPorts(ctx, idle));
      await run.steps.run("start", () => startColor(ctx, idle, { fresh: true }));
      await run.steps.run("health", () => healthGate(ctx, idle));
      if (opts.noSwitch) {
        await run.steps.run("preview", () => showInPreview(ctx, idle, sha));
        await saveState(ctx.layout, { ...state, staged: { color: idle, sha } });
        const url = previewUrl(ctx);
        opts.print(
          `${sha.slice(0, 12)} is installed and healthy on ${idle}, not serving` +
            (url ? `; preview it at ${url}` : "") +
            "; `rf-agent switch` puts it live",
        );
        return { outcome: "staged", from: live, to: { color: idle, sha }, exitCode: 0 };
      }
      await runPreSwitch(ctx, run.steps, idle, sha);
    } catch (e) {
      // Leave nothing half-started behind; the live color was never touched.
      await stopColor(ctx, idle).catch(() => undefined);
      throw e;
    }
    try {
      const result = await cutover(ctx, run.steps, state, idle, sha);
      await runPostHook(ctx, run.steps, "post_switch", idle, sha);
      opts.print(
        `deployed ${sha.slice(0, 12)} to ${idle}` +
          (live ? ` (was ${live.sha.slice(0, 12)} on ${live.color})` : "") +
          (result.openAtDeadline
            ? `; ${result.openAtDeadline} connections were cut at the drain deadline`
            : ""),
      );
    } catch (e) {
      if (e instanceof RfError && e.code === "NGINX") await stopColor(ctx, idle).catch(() => undefined);
      throw e;
    }
    return { outcome: "deployed", from: live, to: { color: idle, sha }, exitCode: 0 };
  });
}

async function alreadyLive(
  ctx: Context,
  opts: DeployOptions,
  live: { color: Color; sha: string },
): Promise<Outcome> {
  // Nothing new, but a certificate certbot could not get before is asked for again.
  await ensureCertificate(ctx, live);
  opts.print(
    `${live.sha.slice(0, 12)} is already live on ${live.color}: nothing to do (--force redeploys it)`,
  );
  return { outcome: "unchanged", from: live, to: live, exitCode: 0 };
}

async function dryRun(ctx: Context, opts: DeployOptions): Promise<Outcome> {
  const state = await readState(ctx);
  const live = state.live ? { color: state.live.color, sha: state.live.sha } : null;
  const sha = await remoteSha(ctx, opts.ref);
  if (!sha) {
    throw new RfError("GIT", `"${opts.ref}" is not a branch or tag of ${ctx.config.app.repo}`, {
      hint: "pass a branch, a tag or a full 40-character commit id",
    });
  }
  if (live && sha === live.sha && !opts.force) {
    opts.print(`${sha.slice(0, 12)} is already live on ${live.color}: a deploy would do nothing`);
    return { outcome: "unchanged", from: live, to: live, exitCode: 0 };
  }
  const idle = idleColor(state);
  const group = ctx.user?.group ?? ctx.config.app.user;
  const units = renderUnits(ctx.config, ctx.layout, idle, group);
  const files = [
    ...units,
    // certbot's site is plain HTTP with the ACME path until its certificate exists
    renderSite(ctx.config, ctx.layout, (await siteCertificate(ctx.config)).https),
    renderLiveInclude(ctx.config, ctx.layout, idle, sha),
  ];
  const diffs: string[] = [];
  const changed = new Set<string>();
  for (const f of files) {
    const before = await readIfExists(f.path);
    if (before === f.content) continue;
    changed.add(f.path);
    diffs.push(await fileDiff(ctx.run, f.path, before, f.content));
  }
  const plan = planDeploy({
    config: ctx.config,
    live,
    idle,
    sha,
    changedFiles: units.map((u) => u.path).filter((p) => changed.has(p)),
    firstDeploy: !live,
  });
  opts.print(
    `dry run: deploy ${sha.slice(0, 12)} to ${idle}${live ? ` (live: ${live.color} ${live.sha.slice(0, 12)})` : ""}; nothing is changed`,
  );
  opts.print(formatPlan(plan));
  if (diffs.length) opts.print(["", ...diffs].join("\n"));
  return { outcome: "dry-run", from: live, to: { color: other(live?.color ?? "green"), sha }, exitCode: 0 };
}
