// A deploy of the branch tip serves every pending webhook request: it reads the tip after taking
// them, so each push they announce is in what it deploys. A burst of pushes becomes one deploy.
import type { Context } from "../context.js";
import { isRfError } from "../errors.js";
import { consumeRequests, describeTrigger, type DeployRequest } from "../webhook/spool.js";
import type { RecordedRun } from "./recorded.js";

export async function serveWebhookRequests(ctx: Context, run: RecordedRun): Promise<void> {
  const { spoolDir, spoolTop } = ctx.layout.triggers;
  let requests: DeployRequest[];
  try {
    requests = await consumeRequests(spoolDir, ctx.log, { top: spoolTop });
  } catch (e) {
    if (!isRfError(e)) throw e;
    // A tampered spool is left as it is, unread; the deploy of the branch tip needs nothing from
    // it, and refusing to deploy would let the listener's user block every deploy.
    ctx.log.error({ spool: spoolDir, hint: e.hint }, e.message);
    run.trigger = `${run.trigger} (webhook spool refused)`;
    return;
  }
  const newest = requests.at(-1);
  if (!newest) return;
  run.trigger = describeTrigger(run.trigger, requests);
  ctx.log.info(
    { trigger: run.trigger, requests: requests.length, pushed: newest.after },
    `serving ${requests.length} webhook request${requests.length > 1 ? "s" : ""}` +
      (newest.after ? `; the newest announced ${newest.after.slice(0, 12)}` : ""),
  );
}
