// Bringing the idle color to a commit: the steps "fetch", "checkout", "pip install" and "units" of
// core/plan.ts. Never touches the live color.
import { fetchForCheckout } from "../adapters/git.js";
import { writeIfChanged } from "../adapters/files.js";
import { saveState } from "../adapters/state-store.js";
import { daemonReload } from "../adapters/systemd.js";
import { applyVenv, planVenv, pythonIdentity, requirementsProblem } from "../adapters/venv.js";
import type { Color } from "../config/types.js";
import type { Context } from "../context.js";
import { withFields } from "../context.js";
import { RfError } from "../errors.js";
import { renderUnits } from "../core/render.js";
import { installedIn } from "../core/state.js";
import type { RunScope } from "./actions.js";
import { gitUser } from "./host.js";
import { SKIPPED } from "./steps.js";

/** [app] branch is not on the remote: said alike whether ls-remote or the fetch found out. */
export function branchMissing(app: { repo: string; branch: string }): RfError {
  return new RfError("GIT", `branch "${app.branch}" does not exist in ${app.repo}`, {
    hint: "push the branch, or set [app] branch to one that exists",
  });
}

/**
 * Fetches into the idle checkout and learns the commit `--ref` (default: [app] branch) names.
 * "live" when that commit already serves: the deploy has nothing to do. The fetch's unit stays,
 * waiting to check the commit out at the "checkout" step; the run's end cancels it otherwise.
 */
export async function fetchRelease(scope: RunScope): Promise<void | "live"> {
  const { ctx, plan } = scope;
  const { repo, branch } = ctx.config.app;
  const dir = ctx.layout.checkout(plan.to.color);
  const git = gitUser(ctx);
  const fetched = await fetchForCheckout(dir, repo, git, scope.ref ?? branch, ctx.config.app.requirements);
  const sha = fetched.sha;
  if (!sha) {
    if (scope.ref === undefined) throw branchMissing(ctx.config.app);
    throw new RfError("GIT", `ref "${scope.ref}" is not a branch, tag or commit of ${repo}`, {
      hint: "check the name (`git ls-remote <repo>` lists branches and tags), or omit --ref to deploy [app] branch",
    });
  }
  if (plan.from && sha === plan.from.sha && !scope.force) {
    await fetched.cancel();
    return "live";
  }
  scope.fetched = fetched;
  if (!scope.sha) scope.ctx = withFields(ctx, { sha: sha.slice(0, 12) });
  scope.sha = sha;
}

export async function checkoutRelease(scope: RunScope): Promise<void> {
  const { ctx, fetched } = scope;
  const { app } = ctx.config;
  // Every plan fetches before it checks out: the fetch's unit waits to check out what it found.
  if (!fetched) throw new Error("checkout step without a fetch before it");
  // The interpreter does not depend on the commit: ask it who it is while git checks out.
  scope.python = pythonIdentity(ctx.run, app.python);
  scope.python.catch(() => undefined); // awaited by "pip install", unless the checkout fails first
  // Read from the commit, not the work tree: a requirements file committed as a link to
  // /etc/shadow is refused, never read by root.
  const req = await fetched.checkout();
  if (!("text" in req)) throw requirementsProblem(app.requirements, req.missing);
  scope.requirements = req.text;
}

/** pip runs only when requirements.txt or the interpreter changed since this venv was made. */
export async function installRequirements(scope: RunScope): Promise<void | typeof SKIPPED> {
  const { ctx, plan } = scope;
  const { app } = ctx.config;
  const color = plan.to.color;
  const venv = ctx.layout.venv(color);
  const markerPath = ctx.layout.venvMarkerPath(color);
  const identity = await (scope.python ?? pythonIdentity(ctx.run, app.python));
  const venvPlan = await planVenv(identity, venv, markerPath, scope.requirements ?? "", app.pipArgs);
  if (!venvPlan.install) {
    ctx.log.info({ color, pip: "skipped" }, "requirements unchanged: pip skipped");
    return SKIPPED;
  }
  ctx.log.info(
    { color, venv: venvPlan.create ? "create" : "keep" },
    venvPlan.create ? "making the venv" : "venv kept",
  );
  await applyVenv(ctx.run, venvPlan, {
    venv,
    markerPath,
    python: app.python,
    checkout: ctx.layout.checkout(color),
    requirements: app.requirements,
    pipArgs: app.pipArgs,
    cacheDir: ctx.layout.cacheDir,
    as: ctx.user!,
    app: app.name,
  });
}

/** The color's units; in a deploy, its slot then holds the new commit (nothing has started yet). */
export async function installUnits(scope: RunScope): Promise<void> {
  const { ctx, plan } = scope;
  const color = plan.to.color;
  await writeUnits(ctx, color, ctx.user?.group ?? ctx.config.app.user);
  if (plan.command !== "deploy") return;
  scope.state = installedIn(scope.state, color, scope.sha!, ctx.now());
  await saveState(ctx.layout, scope.state);
}

export async function writeUnits(ctx: Context, color: Color, group: string): Promise<boolean> {
  let changed = false;
  for (const file of renderUnits(ctx.config, ctx.layout, color, group)) {
    if (await writeIfChanged(file.path, file.content, file.mode)) changed = true;
  }
  if (changed) await daemonReload(ctx.run);
  return changed;
}
