// The webhook listener rf-agent's unit runs: it verifies deliveries (src/webhook) and files deploy
// requests in the spool; the deploy itself runs in the deploy unit, so every answer is immediate.
import type { Config } from "../config/types.js";
import { listenText, type Layout } from "../core/layout.js";
import { RfError } from "../errors.js";
import type { Logger } from "../log.js";
import { DeliveryLog } from "../webhook/deliveries.js";
import { startHook, type HookDeps } from "../webhook/handler.js";
import { readSecret } from "../webhook/secret.js";
import { createListener, listen } from "../webhook/server.js";
import { fileRequest } from "../webhook/spool.js";

export interface RunningListener {
  /** Stops accepting, closes idle connections, and keeps the delivery ids it has seen. */
  stop(): Promise<void>;
}

/** Listening once this resolves; a port it cannot take is a HOOK error that says why. */
export async function startWebhookListener(
  config: Config,
  log: Logger,
  layout: Layout,
  env: NodeJS.ProcessEnv,
): Promise<RunningListener> {
  const tl = layout.triggers;
  const { provider, listen: address } = config.webhook;
  const secret = await readSecret(config.webhook.secretFile, env);
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
  return {
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await deliveries.flush().catch(() => undefined);
    },
  };
}
