// rf-agent deploy: the idle color gets the new commit, proves itself healthy, then takes the traffic.
// The steps are core/plan.ts's planDeploy; ops/execute.ts runs them.
import type { Context } from "../context.js";
import { RfError } from "../errors.js";
import { formatPlan, planDeploy, type Plan, type Release } from "../core/plan.js";
import { idleColor, liveRelease, type State } from "../core/state.js";
import { execute } from "../ops/execute.js";
import { ensureAppUser, ensureRoot } from "../ops/host.js";
import { fallsBack, ensureCertificate, previewUrl } from "../ops/nginx-routing.js";
import { readState, reconcile } from "../ops/reconcile.js";
import { recorded, type Outcome, type RecordedRun } from "../ops/recorded.js";
import { idleHasCheckout, remoteSha, renderedDiffs } from "../ops/target.js";
import { serveWebhookRequests } from "../ops/webhook-requests.js";

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

export async function deploy(ctx: Context, opts: DeployOptions): Promise<Outcome> {
  if (opts.dryRun) return dryRun(ctx, opts);
  return recorded(ctx, "deploy", opts.waitSec, async (run) => {
    // What is there now and what to do about it; named in history, it comes before the plan it makes.
    const ready = await run.steps.run("prepare", () => prepare(run, opts));
    if ("alreadyLive" in ready) return alreadyLive(ready.c, opts, ready.alreadyLive);
    const { c, plan, state, live } = ready;
    const done = await execute(c, run, plan, state, {
      force: opts.force,
      ...(opts.ref !== undefined ? { ref: opts.ref } : {}),
    });
    if (!done.done) return alreadyLive(c, opts, done.live);
    const { to, scope } = done;
    if (opts.noSwitch) {
      const url = previewUrl(c);
      opts.print(
        `${to.sha.slice(0, 12)} is installed and healthy on ${to.color}, not serving` +
          (url ? `; preview it at ${url}` : "") +
          "; `rf-agent switch` puts it live",
      );
      return { outcome: "staged", from: live, to, exitCode: 0 };
    }
    opts.print(
      `deployed ${to.sha.slice(0, 12)} to ${to.color}` +
        (live ? ` (was ${live.sha.slice(0, 12)} on ${live.color})` : "") +
        (scope.openAtDeadline ? `; ${scope.openAtDeadline} connections were cut at the drain deadline` : ""),
    );
    return { outcome: "deployed", from: live, to, exitCode: 0 };
  });
}

type Prepared =
  { alreadyLive: Release; c: Context } | { c: Context; plan: Plan; state: State; live: Release | null };

/** Under the lock: the app user and root, the state reconciled, the tip if asked first, the plan. */
async function prepare(run: RecordedRun, opts: DeployOptions): Promise<Prepared> {
  // Holding the lock, before the branch tip is read: pending webhook requests are served by this run.
  if (!opts.ref) await serveWebhookRequests(run.ctx, run);
  const user = await ensureAppUser(run.ctx);
  const c: Context = { ...run.ctx, user };
  await ensureRoot(c, user);
  const state = await reconcile(c, { askNginx: "on-disagreement" });
  const live = liveRelease(state);
  const idle = idleColor(state);
  // One trip to the remote: the fetch into the idle checkout says what the tip is. Only a missing
  // checkout is asked first (ls-remote), as cloning it just to find nothing new is not worth it.
  const askFirst = !(await idleHasCheckout(c, idle)) || isShaRef(opts.ref);
  const quick = askFirst ? await remoteSha(c, opts.ref) : null;
  if (quick && live && quick === live.sha && !opts.force) return { alreadyLive: live, c };
  if (opts.noSwitch && !live) {
    throw new RfError("USAGE", "--no-switch needs a live version to stay in front; nothing is live yet", {
      hint: "run `rf-agent deploy` without --no-switch for the first deploy",
    });
  }
  const plan = planDeploy({
    config: c.config,
    live,
    idle,
    sha: quick,
    changedFiles: null,
    fallbackToIdle: await fallsBack(c),
    noSwitch: Boolean(opts.noSwitch),
  });
  return { c, plan, state, live };
}

const isShaRef = (ref: string | undefined) => ref !== undefined && /^[0-9a-f]{40}$/.test(ref);

async function alreadyLive(ctx: Context, opts: DeployOptions, live: Release): Promise<Outcome> {
  // Nothing new, but a certificate certbot could not get before is asked for again.
  await ensureCertificate(ctx, live);
  opts.print(
    `${live.sha.slice(0, 12)} is already live on ${live.color}: nothing to do (--force redeploys it)`,
  );
  return { outcome: "unchanged", from: live, to: live, exitCode: 0 };
}

/** The plan a deploy would run now, and the files it would write differently; nothing is changed. */
async function dryRun(ctx: Context, opts: DeployOptions): Promise<Outcome> {
  const state = await readState(ctx);
  const live = liveRelease(state);
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
  const { unitPaths, diffs } = await renderedDiffs(ctx, idle, sha);
  const plan: Plan = planDeploy({
    config: ctx.config,
    live,
    idle,
    sha,
    changedFiles: unitPaths,
    fallbackToIdle: await fallsBack(ctx),
    noSwitch: Boolean(opts.noSwitch),
  });
  const firstDeploy = live
    ? ""
    : `; first deploy: the user ${ctx.config.app.user}, ${ctx.config.app.root} and the state dir are set up before step 1`;
  opts.print(
    `dry run: deploy ${sha.slice(0, 12)} to ${idle}${live ? ` (live: ${live.color} ${live.sha.slice(0, 12)})` : ""}${firstDeploy}; nothing is changed`,
  );
  opts.print(formatPlan(plan));
  if (diffs.length) opts.print(["", ...diffs].join("\n"));
  return { outcome: "dry-run", from: live, to: { color: idle, sha }, exitCode: 0 };
}
