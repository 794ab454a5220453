// rf-agent rollback: the previous color takes the traffic back, instantly if it is still warm.
import { isActive } from "../adapters/systemd.js";
import type { Context } from "../context.js";
import { RfError } from "../errors.js";
import { other } from "../core/layout.js";
import { cutover } from "../ops/cutover.js";
import { ensureAppUser } from "../ops/host.js";
import { reconcile } from "../ops/reconcile.js";
import { healthGate, quickHealthy, startColor, stopColor } from "../ops/start.js";
import { writeUnits } from "../ops/release.js";
import { runPostHook } from "../ops/release-hook-steps.js";
import type { DeployOptions } from "./deploy.js";
import { recorded, type Outcome } from "../ops/recorded.js";

export interface RollbackOptions {
  to?: string;
  waitSec: number;
  print: (line: string) => void;
}

export async function rollback(ctx: Context, opts: RollbackOptions): Promise<Outcome> {
  if (opts.to) {
    const deployOpts: DeployOptions = {
      ref: opts.to,
      force: false,
      dryRun: false,
      waitSec: opts.waitSec,
      print: opts.print,
    };
    // Only --to needs git and the installer: keep them out of the instant rollback's start-up.
    const { deploy } = await import("./deploy.js");
    return deploy(ctx, deployOpts);
  }
  return recorded(ctx, "rollback", opts.waitSec, async (run) => {
    const user = await ensureAppUser(ctx);
    const state = await reconcile(ctx, { askNginx: "on-disagreement" });
    if (!state.live) {
      throw new RfError("NOTHING_TO_ROLL_BACK", "nothing is live yet, so there is nothing to roll back", {
        hint: "run `rf-agent deploy` first",
      });
    }
    const live = { color: state.live.color, sha: state.live.sha };
    const back = other(live.color);
    const sha = state.slots[back]?.sha;
    run.from = live;
    if (!sha) {
      throw new RfError("NOTHING_TO_ROLL_BACK", `the ${back} slot has no previous version to roll back to`, {
        hint: "roll back to a given commit with `rf-agent rollback --to REF`",
      });
    }
    run.to = { color: back, sha };
    ctx.log = ctx.log.child({ color: back, sha: sha.slice(0, 12) });
    const [active, healthy] = await Promise.all([
      isActive(ctx.run, ctx.layout.units(back)[0] ?? ""),
      quickHealthy(ctx, back),
    ]);
    const warm = active && healthy;
    if (warm) {
      ctx.log.info({ color: back }, `${back} is running and healthy (warm standby): switching at once`);
    } else {
      try {
        await run.steps.run("units", () => writeUnits(ctx, back, user.group));
        await run.steps.run("start", () => startColor(ctx, back, { fresh: true }));
        await run.steps.run("health", () => healthGate(ctx, back));
      } catch (e) {
        await stopColor(ctx, back).catch(() => undefined);
        throw e;
      }
    }
    await cutover(ctx, run.steps, state, back, sha);
    await runPostHook(ctx, run.steps, "post_rollback", back, sha);
    opts.print(
      `rolled back to ${sha.slice(0, 12)} on ${back} (was ${live.sha.slice(0, 12)} on ${live.color})`,
    );
    return { outcome: "rolled-back", from: live, to: { color: back, sha }, exitCode: 0 };
  });
}
