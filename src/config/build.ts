// Validates the raw values and assembles the Config, including the checks that span keys and services.
import type * as z from "zod/mini";
import { DEFAULT_SERVICES, HEALTH_DEFAULTS, SOLE_SERVICE_ROUTE } from "./defaults.js";
import { quote, type Problem } from "./problems.js";
import type { RawConfig, Values } from "./read.js";
import {
  appSchema,
  healthSchema,
  hooksSchema,
  metricsSchema,
  nginxSchema,
  notifySchema,
  serviceSchema,
  switchSchema,
  tlsSchema,
  triggerSchema,
  userSchema,
  webhookSchema,
} from "./schema.js";
import { COLORS, type Config, type ServiceConfig } from "./types.js";

type Parsed<S extends z.ZodMiniObject> = Partial<z.output<S>>;

/** Each key on its own, so one bad key still leaves the others for the cross-checks. */
function validate<S extends z.ZodMiniObject>(
  schema: S,
  section: string,
  values: Values,
  problems: Problem[],
): Parsed<S> {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(schema.shape) as [string, z.ZodMiniType][]) {
    const value = Object.hasOwn(values, key) ? values[key] : undefined;
    const result = field.safeParse(value);
    if (result.success) {
      out[key] = result.data;
      continue;
    }
    for (const issue of result.error.issues) {
      const message = value === undefined ? issue.message : `${issue.message}, got ${quote(value)}`;
      problems.push({ section, key, message });
    }
  }
  return out as Parsed<S>;
}

/** Returns the Config when there were no problems (before or during validation); else undefined. */
export function buildConfig(raw: RawConfig, source: string, problems: Problem[]): Config | undefined {
  const empty: Values = {};
  const appValues = raw.fixed.app ?? empty;
  const app = validate(appSchema, "app", appValues, problems);
  if (app.name !== undefined) {
    if (!Object.hasOwn(appValues, "root")) app.root = `/srv/${app.name}`;
    if (!Object.hasOwn(appValues, "data_dir")) app.data_dir = `/var/lib/${app.name}`;
    if (!Object.hasOwn(appValues, "user")) app.user = defaultUser(app.name, problems);
  }
  const inside = (dir: string, parent: string) => dir === parent || dir.startsWith(`${parent}/`);
  if (app.data_dir && app.root && (inside(app.data_dir, app.root) || inside(app.root, app.data_dir))) {
    problems.push({
      section: "app",
      key: "data_dir",
      message: `must lie outside [app] root (${app.root}): the services may write their data directory, but never their code or venvs; e.g. data_dir = /var/lib/${app.name ?? "app"}`,
    });
  }

  const given = raw.services.length > 0;
  const sources = given
    ? raw.services
    : DEFAULT_SERVICES.map((s) => ({ name: s.name, values: { ...s.keys } }));
  const services = sources.map(({ name, values }) => {
    const service = validate(serviceSchema, `service.${name}`, values, problems);
    if (service.route === undefined && !Object.hasOwn(values, "route")) {
      if (sources.length === 1) service.route = SOLE_SERVICE_ROUTE;
      else
        problems.push({
          section: `service.${name}`,
          key: "route",
          message: `required when there are several services; the nginx location to proxy, e.g. route = /${name}/`,
        });
    }
    return { name, ...service };
  });

  const health = validate(healthSchema, "health", raw.fixed.health ?? empty, problems);
  if (health.stable !== undefined && health.timeout !== undefined && health.stable >= health.timeout) {
    problems.push({
      section: "health",
      key: "stable",
      message: `must be less than [health] timeout (${health.timeout} s), or no service could pass in time; e.g. stable = ${HEALTH_DEFAULTS.stable}`,
    });
  }
  const nginx = validate(nginxSchema, "nginx", raw.fixed.nginx ?? empty, problems);
  const tlsValues = raw.fixed.tls ?? empty;
  const tls = validate(tlsSchema, "tls", tlsValues, problems);
  checkTls(tls, tlsValues, nginx, services, problems);
  const sw = validate(switchSchema, "switch", raw.fixed.switch ?? empty, problems);
  const hooks = validate(hooksSchema, "hooks", raw.fixed.hooks ?? empty, problems);
  const notify = validate(notifySchema, "notify", raw.fixed.notify ?? empty, problems);
  const metrics = validate(metricsSchema, "metrics", raw.fixed.metrics ?? empty, problems);
  const trigger = validate(triggerSchema, "trigger", raw.fixed.trigger ?? empty, problems);
  const webhook = validate(webhookSchema, "webhook", raw.fixed.webhook ?? empty, problems);
  // The default port is checked by `rf-agent install`: it must not fail configs that never use it.
  if (raw.fixed.webhook && Object.hasOwn(raw.fixed.webhook, "listen")) {
    const port = webhook.listen?.port;
    const owner =
      webhookPortOwner(port, nginx.listen, services) ??
      (tls.mode !== "off" && port !== undefined && port === tls.listen
        ? `port ${port} is also the port nginx serves HTTPS on ([tls] listen)`
        : undefined);
    if (owner) problems.push({ section: "webhook", key: "listen", message: owner });
  }
  checkServices(services, nginx.listen, given, problems);

  if (problems.length > 0) return undefined;
  // No problems means every key parsed, so the Partial fields are all present.
  const a = app as Required<typeof app>;
  return {
    source,
    app: {
      name: a.name,
      repo: a.repo,
      branch: a.branch,
      root: a.root,
      dataDir: a.data_dir,
      user: a.user,
      python: a.python,
      requirements: a.requirements,
      pipArgs: a.pip_args,
      envFile: a.env_file,
      colorEnvFiles: { blue: a.env_file_blue, green: a.env_file_green },
      requiredEnv: a.required_env,
      secretMinLength: a.secret_min_length,
    },
    services: services as ServiceConfig[],
    health: {
      timeoutSec: health.timeout!,
      intervalSec: health.interval!,
      stableSec: health.stable!,
      successes: health.successes!,
    },
    nginx: {
      listen: nginx.listen!,
      serverName: nginx.server_name!,
      previewListen: nginx.preview_listen!,
      previewServerName: nginx.preview_server_name!,
      include: nginx.include ?? null,
      httpInclude: nginx.http_include ?? null,
    },
    tls: {
      mode: tls.mode!,
      listen: tls.listen!,
      cert: tls.cert ?? null,
      key: tls.key ?? null,
      email: tls.email!,
      acmeServer: tls.acme_server!,
      hstsSec: tls.hsts!,
    },
    hooks: {
      preSwitch: hooks.pre_switch!,
      postSwitch: hooks.post_switch!,
      postRollback: hooks.post_rollback!,
      timeoutSec: hooks.timeout!,
    },
    notify: { url: notify.url!, timeoutSec: notify.timeout! },
    metrics: { textfile: metrics.textfile ?? null },
    trigger: { schedule: trigger.schedule!.trim() === "" ? null : trigger.schedule!.trim() },
    webhook: { listen: webhook.listen!, secretFile: webhook.secret_file!, provider: webhook.provider! },
    switch: { graceSec: sw.grace!, drainSec: sw.drain!, standbySec: sw.standby!, watchSec: sw.watch! },
  };
}

function defaultUser(name: string, problems: Problem[]): string | undefined {
  const result = userSchema.safeParse(name);
  if (result.success) return result.data;
  problems.push({
    section: "app",
    key: "user",
    message: `not set, and its default (the app name ${quote(name)}) ${result.error.issues[0]?.message ?? "is not a valid user name"}; set user = NAME`,
  });
  return undefined;
}

type PartialService = { name: string } & Partial<Omit<ServiceConfig, "name">>;

// A name a public CA can validate over HTTP-01: no catch-all, wildcard or regex server name.
const CERT_NAME =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** The [tls] keys that only make sense together, and its port against the others on this host. */
function checkTls(
  tls: Parsed<typeof tlsSchema>,
  values: Values,
  nginx: Parsed<typeof nginxSchema>,
  services: PartialService[],
  problems: Problem[],
) {
  const add = (key: string, message: string) => problems.push({ section: "tls", key, message });
  const mode = tls.mode;
  if (mode === undefined) return;
  if (mode === "files") {
    for (const k of ["cert", "key"] as const) {
      if (!Object.hasOwn(values, k) || values[k] === "")
        add(
          k,
          `required with mode = files; the PEM ${k === "cert" ? "certificate chain" : "private key"} nginx serves, e.g. ${k} = /etc/ssl/${k === "cert" ? "certs/app.pem" : "private/app.key"}`,
        );
    }
  } else {
    for (const k of ["cert", "key"] as const) {
      if (values[k])
        add(
          k,
          mode === "certbot"
            ? "is for mode = files; certbot keeps its own certificate under /etc/letsencrypt"
            : "is only used with mode = files (or certbot); set mode = files to serve this certificate",
        );
    }
  }
  if (mode === "off") {
    if (tls.hsts) add("hsts", "needs HTTPS; set mode = files or certbot");
    return;
  }
  if (mode === "certbot" && nginx.server_name !== undefined) {
    const bad = nginx.server_name.split(/\s+/).filter((n) => n && !CERT_NAME.test(n));
    if (bad.length > 0)
      problems.push({
        section: "nginx",
        key: "server_name",
        message: `must be the site's real host names with [tls] mode = certbot (a certificate is issued for each), not ${bad.map(quote).join(", ")}; e.g. server_name = app.example.com`,
      });
  }
  const port = tls.listen;
  if (port === undefined) return;
  if (port === nginx.listen)
    add("listen", `${port} is also the port nginx listens on for HTTP ([nginx] listen)`);
  const owner = services.find((s) => s.ports && COLORS.some((c) => s.ports![c] === port));
  if (owner) add("listen", `${port} is also a port of [service.${owner.name}]`);
}

/** Why the webhook listener cannot have this port (it shares the host with nginx and both colors). */
export function webhookPortOwner(
  port: number | undefined,
  listen: number | undefined,
  services: PartialService[],
): string | undefined {
  if (port === undefined) return undefined;
  const owner =
    port === listen
      ? "the port nginx listens on ([nginx] listen)"
      : services
          .filter((s) => s.ports && COLORS.some((c) => s.ports![c] === port))
          .map((s) => `a port of [service.${s.name}]`)[0];
  return owner ? `port ${port} is also ${owner}` : undefined;
}

/** Every port is bound on the same host, and every route is a location in one nginx server. */
function checkServices(
  services: PartialService[],
  listen: number | undefined,
  given: boolean,
  problems: Problem[],
) {
  const portOwner = new Map<number, string>();
  const routeOwner = new Map<string, string>();
  for (const service of services) {
    const section = `service.${service.name}`;
    for (const color of COLORS) {
      const port = service.ports?.[color];
      if (port === undefined) continue;
      const owner = portOwner.get(port);
      if (port === listen) {
        problems.push(
          given
            ? { section, key: "ports", message: `${port} is also the port nginx listens on ([nginx] listen)` }
            : {
                section: "nginx",
                key: "listen",
                message: `${port} is also a port of the default [${section}]`,
              },
        );
      } else if (owner !== undefined && owner !== service.name) {
        problems.push({ section, key: "ports", message: `${port} is already used by [service.${owner}]` });
      }
      portOwner.set(port, owner ?? service.name);
    }
    if (service.route !== undefined) {
      const owner = routeOwner.get(service.route);
      if (owner !== undefined) {
        problems.push({
          section,
          key: "route",
          message: `${quote(service.route)} is already the route of [service.${owner}]`,
        });
      } else routeOwner.set(service.route, service.name);
    }
  }
}
