// rf-agent webhook: the listener its unit runs. It verifies deliveries and files deploy requests;
// the deploy itself runs in the deploy unit, so every answer is immediate.
import type { Config } from "../config/types.js";
import { layoutFor, type Layout } from "../core/layout.js";
import { listenText } from "../triggers/units.js";
import { RfError } from "../errors.js";
import type { Logger } from "../log.js";
import { DeliveryLog } from "../webhook/deliveries.js";
import { startHook, type HookDeps } from "../webhook/handler.js";
import { readSecret } from "../webhook/secret.js";
import { createListener, listen } from "../webhook/server.js";
import { fileRequest } from "../webhook/spool.js";

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
  const tl = (opts.layout ?? layoutFor(config)).triggers;
  const { provider, listen: address } = config.webhook;
  const secret = await readSecret(config.webhook.secretFile, opts.env ?? process.env);
  const deliveries = await DeliveryLog.open(tl.deliveriesPath);
  const deps: HookDeps = {
    app: config.app.name,
    branch: config.app.branch,
    provider,
    secret,
    deliveries,
    requestDeploy: (request) => fileRequest(tl.spoolDir, request),
    now: () => new Date(),
  };
  const server = createListener({
    app: config.app.name,
    log,
    start: (headers) => startHook(deps, headers),
  });
  try {
    await listen(server, address.host, address.port);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new RfError(
      "HOOK",
      `the webhook listener cannot listen on ${listenText(address)}: ${code ?? String(e)}`,
      {
        hint:
          code === "EADDRINUSE"
            ? "another process holds that port (see `ss -ltnp`); stop it or set [webhook] listen to a free port"
            : "set [webhook] listen to an address of this host",
        cause: e,
      },
    );
  }
  log.info(
    { listen: listenText(address), provider, branch: config.app.branch, spool: tl.spoolDir },
    `webhook listener for ${config.app.name} on ${listenText(address)} (${provider}, POST /hooks/${config.app.name}, deploys pushes to ${config.app.branch})`,
  );
  const why = await (opts.until ?? signalled());
  log.info({ signal: why }, "webhook listener stopping");
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
  await deliveries.flush().catch(() => undefined);
  return 0;
}
