// A deploy of the branch tip serves every pending webhook request: it reads the tip after taking
// them, so each push they announce is in what it deploys. A burst of pushes becomes one deploy.
import path from "node:path";
import type { Context } from "../context.js";
import { DEFAULT_DIRS } from "../core/layout.js";
import { triggerLayout } from "../triggers/layout.js";
import { consumeRequests, describeTrigger } from "../webhook/spool.js";
import type { RecordedRun } from "./recorded.js";

export async function serveWebhookRequests(ctx: Context, run: RecordedRun): Promise<void> {
  // The spool sits beside the state root (/var/lib/private next to /var/lib/rf-agent).
  const stateRoot = path.dirname(ctx.layout.stateDir);
  const { spoolDir } = triggerLayout(ctx.config.app.name, { ...DEFAULT_DIRS, stateRoot });
  const requests = await consumeRequests(spoolDir, ctx.log);
  const newest = requests.at(-1);
  if (!newest) return;
  run.trigger = describeTrigger(run.trigger, requests);
  ctx.log.info(
    { trigger: run.trigger, requests: requests.length, pushed: newest.after },
    `serving ${requests.length} webhook request${requests.length > 1 ? "s" : ""}` +
      (newest.after ? `; the newest announced ${newest.after.slice(0, 12)}` : ""),
  );
}
