// Bringing the idle color to a commit: code, virtualenv, units. Never touches the live color.
import { checkoutClean, fetchInto, resolveRef, showFile } from "../adapters/git.js";
import { writeIfChanged } from "../adapters/files.js";
import { daemonReload } from "../adapters/systemd.js";
import type { UnixUser } from "../adapters/users.js";
import { applyVenv, planVenv, pythonIdentity, requirementsProblem } from "../adapters/venv.js";
import type { Color } from "../config/types.js";
import type { Context } from "../context.js";
import { RfError } from "../errors.js";
import { renderUnits } from "../core/render.js";
import { gitUser } from "./host.js";
import type { Steps } from "./steps.js";

/** [app] branch is not on the remote: said alike whether ls-remote or the fetch found out. */
export function branchMissing(app: { repo: string; branch: string }): RfError {
  return new RfError("GIT", `branch "${app.branch}" does not exist in ${app.repo}`, {
    hint: "push the branch, or set [app] branch to one that exists",
  });
}

/** Fetches into the color's checkout and returns the commit `ref` (default: [app] branch) names. */
export async function fetchCommit(
  ctx: Context,
  steps: Steps,
  color: Color,
  ref: string | undefined,
  user: UnixUser,
): Promise<string> {
  const { repo, branch } = ctx.config.app;
  const dir = ctx.layout.checkout(color);
  const git = gitUser(ctx, user);
  await steps.run("fetch", () => fetchInto(dir, repo, git));
  const sha = await resolveRef(dir, ref ?? branch, git);
  if (sha) return sha;
  if (ref === undefined) throw branchMissing(ctx.config.app);
  throw new RfError("GIT", `ref "${ref}" is not a branch, tag or commit of ${repo}`, {
    hint: "check the name (`git ls-remote <repo>` lists branches and tags), or omit --ref to deploy [app] branch",
  });
}

export async function installCommit(
  ctx: Context,
  steps: Steps,
  color: Color,
  sha: string,
  user: UnixUser,
): Promise<{ pip: boolean; unitsChanged: boolean }> {
  const { app } = ctx.config;
  const dir = ctx.layout.checkout(color);
  // The interpreter does not depend on the commit: ask it who it is while git checks out.
  const identity = pythonIdentity(ctx.run, app.python);
  identity.catch(() => undefined); // awaited below, unless the checkout fails first
  const git = gitUser(ctx, user);
  // Read from the commit, not the work tree: a requirements file committed as a link to
  // /etc/shadow is refused, never read by root.
  const [, req] = await Promise.all([
    steps.run("checkout", () => checkoutClean(dir, sha, git)),
    showFile(dir, sha, app.requirements, git),
  ]);
  if (!("text" in req)) throw requirementsProblem(app.requirements, req.missing);
  const venv = ctx.layout.venv(color);
  const markerPath = ctx.layout.venvMarkerPath(color);
  const plan = await planVenv(await identity, venv, markerPath, req.text, app.pipArgs);
  if (plan.install) {
    await steps.run(plan.create ? "venv + pip install" : "pip install", () =>
      applyVenv(ctx.run, plan, {
        venv,
        markerPath,
        python: app.python,
        checkout: dir,
        requirements: app.requirements,
        pipArgs: app.pipArgs,
        cacheDir: ctx.layout.cacheDir,
        as: user,
        app: app.name,
      }),
    );
  } else {
    ctx.log.info({ color }, "requirements unchanged: pip skipped");
  }
  const unitsChanged = await steps.run("units", () => writeUnits(ctx, color, user.group));
  return { pip: plan.install, unitsChanged };
}

export async function writeUnits(ctx: Context, color: Color, group: string): Promise<boolean> {
  let changed = false;
  for (const file of renderUnits(ctx.config, ctx.layout, color, group)) {
    if (await writeIfChanged(file.path, file.content, file.mode)) changed = true;
  }
  if (changed) await daemonReload(ctx.run);
  return changed;
}
