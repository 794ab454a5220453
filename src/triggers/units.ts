// Pure rendering of the agent's own units: the deploy service template, its timer, the .path unit
// that turns webhook requests into deploys, and the webhook listener.
import type { Config } from "../config/types.js";
import { execStart } from "../core/command-line.js";
import type { RenderedFile } from "../core/render.js";
import { fill, readTemplate } from "../core/template.js";
import { listenText, type TriggerLayout } from "../core/layout.js";

/** How the units run rf-agent: this very node and script, with this config file. */
export interface AgentCommand {
  /** node, or the single executable (then script is empty). */
  node: string;
  script: string;
  configPath: string;
}

/** Seconds a deploy run may take: the lock wait plus every bounded step, with room for fetch and pip. */
export const DEPLOY_LOCK_WAIT_SEC = 900;
export function deployTimeoutSec(config: Config): number {
  const { health, switch: sw } = config;
  return Math.ceil(DEPLOY_LOCK_WAIT_SEC + 1800 + health.timeoutSec + sw.graceSec + sw.drainSec + sw.watchSec);
}

function isLoopback(host: string): boolean {
  return host.startsWith("127.") || host === "::1";
}

function agentArgv(cmd: AgentCommand): string[] {
  return cmd.script ? [cmd.node, cmd.script] : [cmd.node];
}

export function renderTriggerUnits(config: Config, tl: TriggerLayout, cmd: AgentCommand): RenderedFile[] {
  const app = config.app.name;
  const unit = (name: string, template: string, vars: Record<string, string | number>): RenderedFile => ({
    path: tl.unitPath(name),
    mode: 0o644,
    content: fill(readTemplate(`units/${template}`), { app, ...vars }),
  });
  const files = [
    unit(tl.deployTemplate, "agent-deploy@.service", {
      execStart: execStart([
        ...agentArgv(cmd),
        "deploy",
        "--config",
        cmd.configPath,
        "--wait",
        String(DEPLOY_LOCK_WAIT_SEC),
      ]),
      spool: tl.spoolDir,
      timeoutSec: deployTimeoutSec(config),
    }),
  ];
  if (config.trigger.schedule !== null) {
    files.push(
      unit(tl.timer, "agent-deploy.timer", {
        schedule: config.trigger.schedule,
        deployUnit: tl.deployUnit("timer"),
      }),
    );
  }
  const { listen } = config.webhook;
  files.push(
    unit(tl.path, "agent-deploy.path", { spool: tl.spoolDir, deployUnit: tl.deployUnit("webhook") }),
    unit(tl.listener, "agent-webhook.service", {
      // %d is systemd's credentials directory, where LoadCredential= put the config copy.
      execStart: `${execStart([...agentArgv(cmd), "webhook"])} --config %d/config`,
      listen: listenText(listen),
      configPath: cmd.configPath,
      secretFile: config.webhook.secretFile,
      stateDir: tl.listenerStateName,
      ipLines: isLoopback(listen.host)
        ? "# Loopback only: nginx (or another local proxy) forwards the deliveries.\nIPAddressDeny=any\nIPAddressAllow=localhost"
        : `# Listens on ${listenText(listen)}: deliveries may come from any address.`,
    }),
  );
  return files;
}
