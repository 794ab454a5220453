// rf-agent webhook: the listener its unit runs (src/ops/webhook-listener.ts), until SIGTERM or SIGINT.
import type { Config } from "../config/types.js";
import { layoutFor, type Layout } from "../core/layout.js";
import type { Logger } from "../log.js";
import { startWebhookListener } from "../ops/webhook-listener.js";

export interface WebhookOptions {
  env?: NodeJS.ProcessEnv;
  /** Resolves when the listener should stop (default: SIGTERM or SIGINT). */
  until?: Promise<unknown>;
  /** Where the listener keeps its spool and delivery ids; default: the host's. */
  layout?: Layout;
}

function signalled(): Promise<string> {
  return new Promise((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
}

export async function webhook(config: Config, log: Logger, opts: WebhookOptions = {}): Promise<number> {
  const listener = await startWebhookListener(
    config,
    log,
    opts.layout ?? layoutFor(config),
    opts.env ?? process.env,
  );
  const why = await (opts.until ?? signalled());
  log.info({ signal: why }, "webhook listener stopping");
  await listener.stop();
  return 0;
}
