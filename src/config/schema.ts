// The zod schema of each section, over the raw strings read from the file. Every key is checked on its
// own (zod collects all of them), and each reports only its first failing rule.
// zod/mini, not classic zod: the same parser without the method API and locales, 43 KB of bundle instead
// of 755 KB, tens of ms off every command's start. Every message here is our own, so no locale is needed.
import * as z from "zod/mini";
import { splitArgs } from "./args.js";
import {
  APP_DEFAULTS,
  HEALTH_DEFAULTS,
  NGINX_DEFAULTS,
  SERVICE_DEFAULTS,
  SWITCH_DEFAULTS,
  TLS_DEFAULTS,
  TRIGGER_DEFAULTS,
  WEBHOOK_DEFAULTS,
} from "./defaults.js";
import * as r from "./rules.js";
import {
  TLS_MODES,
  WEBHOOK_PROVIDERS,
  type NetworkAccess,
  type TlsMode,
  type WebhookProvider,
} from "./types.js";

/** A string key; `required` is what a user reads when a key without a default is missing. */
function key(rules: r.Rule[], required = "required") {
  return z.string({ error: required }).check((ctx) => {
    for (const rule of [r.oneLine, ...rules]) {
      const message = rule(ctx.value);
      if (message !== undefined) {
        ctx.issues.push({ code: "custom", message, input: ctx.value });
        return;
      }
    }
  });
}

export const APP_NAME = /^[a-z][a-z0-9-]{0,39}$/;
export const SERVICE_NAME = /^[a-z][a-z0-9-]{0,19}$/;
const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;

/** Also applied to the app name when `user` is left to default to it. */
export const userSchema = key([
  r.matches(
    USER_NAME,
    "must be a unix user name: up to 32 lowercase letters, digits, _ or -, not starting with a digit or -",
  ),
  (v) => (v === "root" ? "must not be root; the app runs as an unprivileged user" : undefined),
]);

const seconds = (min: "positive" | "zero", fallback: string) =>
  z.prefault(z.pipe(key([r.seconds(min)]), z.transform(Number)), fallback);

export const appSchema = z.object({
  name: z.prefault(
    key([r.matches(APP_NAME, "must be 1-40 lowercase letters, digits or -, starting with a letter")]),
    APP_DEFAULTS.name,
  ),
  repo: key(
    [r.nonEmpty, r.gitRepo],
    "required; set it to the git URL (or absolute path) of the app's repository, e.g. repo = https://git.example.com/app.git",
  ),
  branch: z.prefault(key([r.gitBranch]), APP_DEFAULTS.branch),
  root: z.optional(key([r.absolutePath, r.notRoot, r.normalizedPath, r.plainPath])),
  // Where the services may write (both colors share it); code and venvs are read-only to them.
  data_dir: z.optional(key([r.absolutePath, r.notRoot, r.normalizedPath, r.plainPath])),
  user: z.optional(userSchema),
  python: z.prefault(key([r.absolutePath, r.plainPath]), APP_DEFAULTS.python),
  requirements: z.prefault(key([r.nonEmpty, r.relativeInside]), APP_DEFAULTS.requirements),
  // Read from the raw line (see read.ts), so quotes and ; # are handled here, not by `ini`.
  pip_args: z.prefault(
    z.pipe(
      key([r.words(true)]),
      z.transform((v) => {
        const split = splitArgs(v, { comments: true });
        return split.ok ? split.words : [];
      }),
    ),
    APP_DEFAULTS.pip_args,
  ),
  env_file: optionalPath(APP_DEFAULTS.env_file),
  // Per-color overrides, read after env_file so their values win.
  env_file_blue: optionalPath(""),
  env_file_green: optionalPath(""),
  required_env: z.prefault(
    z.pipe(
      key([
        r.matches(
          /^\s*(?:[A-Za-z_][A-Za-z0-9_]*\s*(?:,\s*[A-Za-z_][A-Za-z0-9_]*\s*)*)?$/,
          "must be variable names separated by commas, e.g. DATABASE_URL, SECRET_KEY",
        ),
      ]),
      z.transform((v) =>
        v
          .split(",")
          .map((x) => x.trim())
          .filter(Boolean),
      ),
    ),
    "",
  ),
  secret_min_length: z.prefault(
    z.pipe(key([r.integerIn(1, 4096, "a whole number")]), z.transform(Number)),
    "16",
  ),
});

function optionalPath(fallback: string) {
  return z.prefault(
    z.pipe(
      key([(v) => (v === "" ? undefined : (r.absolutePath(v) ?? r.plainPath(v)))]),
      z.transform((v) => (v === "" ? null : v)),
    ),
    fallback,
  );
}

export const healthSchema = z.object({
  timeout: seconds("positive", HEALTH_DEFAULTS.timeout),
  interval: seconds("positive", HEALTH_DEFAULTS.interval),
  // How long a service must have answered without a failure before it passes (below timeout: build.ts).
  stable: seconds("zero", HEALTH_DEFAULTS.stable),
  successes: z.prefault(
    z.pipe(key([r.integerIn(1, 100, "a whole number")]), z.transform(Number)),
    HEALTH_DEFAULTS.successes,
  ),
});

export const nginxSchema = z.object({
  listen: z.prefault(z.pipe(key([r.port]), z.transform(Number)), NGINX_DEFAULTS.listen),
  server_name: z.prefault(
    key([
      r.matches(/\S/, "must name at least one server, or _ for any"),
      r.matches(
        /^[^;{}"'\\]*$/,
        "must be nginx server names separated by spaces, without ; { } \\ or quotes",
      ),
    ]),
    NGINX_DEFAULTS.server_name,
  ),
  // The operator's own nginx snippets, kept across deploys: inside our server block, and at http level.
  include: optionalPath(""),
  http_include: optionalPath(""),
  // A second server block that serves the idle color with the same routes, for trying a release.
  preview_listen: z.prefault(
    key([
      (v) =>
        v === "" || /^(?:\d{1,3}(?:\.\d{1,3}){3}:)?\d{1,5}$/.test(v)
          ? undefined
          : "must be PORT or IP:PORT, e.g. 127.0.0.1:8081",
    ]),
    "",
  ),
  preview_server_name: z.prefault(
    key([
      r.matches(
        /^[^;{}"'\\]*$/,
        "must be nginx server names separated by spaces, without ; { } \\ or quotes",
      ),
    ]),
    "",
  ),
});

// [tls]: which certificate the site serves. Keys that only some modes use are checked in build.ts.
export const tlsSchema = z.object({
  mode: z.prefault(
    z.pipe(
      key([r.oneOf(TLS_MODES)]),
      z.transform((v) => v as TlsMode),
    ),
    TLS_DEFAULTS.mode,
  ),
  listen: z.prefault(z.pipe(key([r.port]), z.transform(Number)), TLS_DEFAULTS.listen),
  // Written into the nginx site, so the same plain characters as paths in unit files.
  cert: optionalPath(""),
  key: optionalPath(""),
  email: z.prefault(
    key([
      r.matches(
        /^(?:[^\s@"';{}\\]+@[^\s@"';{}\\]+\.[^\s@"';{}\\]+)?$/,
        "must be an email address, e.g. ops@example.com",
      ),
    ]),
    "",
  ),
  acme_server: z.prefault(
    key([
      r.matches(
        /^https:\/\/[^\s"';{}\\]+$/,
        "must be the https:// URL of an ACME directory, e.g. https://acme-staging-v02.api.letsencrypt.org/directory",
      ),
    ]),
    TLS_DEFAULTS.acme_server,
  ),
  // max-age of Strict-Transport-Security; 0 sends no header (browsers remember it, so opt in).
  hsts: z.prefault(
    z.pipe(key([r.integerIn(0, 63_072_000, "a whole number of seconds")]), z.transform(Number)),
    TLS_DEFAULTS.hsts,
  ),
});

const command = z.prefault(key([r.words(true)]), "");

export const hooksSchema = z.object({
  pre_switch: command,
  post_switch: command,
  post_rollback: command,
  timeout: seconds("positive", "300"),
});

export const notifySchema = z.object({
  url: z.prefault(
    key([
      (v) =>
        v === "" || /^https?:\/\/[^\s]+$/.test(v)
          ? undefined
          : "must be an http(s):// URL, e.g. https://hooks.slack.com/services/...",
    ]),
    "",
  ),
  timeout: seconds("positive", "5"),
});

export const metricsSchema = z.object({
  textfile: optionalPath(""),
});

export const switchSchema = z.object({
  grace: seconds("zero", SWITCH_DEFAULTS.grace),
  drain: seconds("zero", SWITCH_DEFAULTS.drain),
  standby: seconds("zero", SWITCH_DEFAULTS.standby),
  watch: seconds("zero", SWITCH_DEFAULTS.watch),
});

export const serviceSchema = z.object({
  command: key(
    [
      r.matches(/\S/, "must not be empty"),
      r.matches(/\{port\}/, "must contain {port} where the service's port goes"),
      r.words(false),
      r.noExecPrefix,
    ],
    "required; the command that starts this service, with {port} where its port goes",
  ),
  ports: z.pipe(
    key([r.portPair], "required; the blue and green ports, e.g. ports = 8000, 8001"),
    z.transform((v) => {
      const [blue, green] = v.split(",").map(Number) as [number, number];
      return { blue, green };
    }),
  ),
  health: z.prefault(
    key([r.matches(/^\/[\x21-\x7e]*$/, "must be a URL path starting with /, e.g. /health")]),
    SERVICE_DEFAULTS.health,
  ),
  // Required when there are several services; build.ts fills in the sole service's default.
  route: z.optional(
    key([
      r.matches(
        /^\/(?:[A-Za-z0-9._~%+-]+\/)*$/,
        "must be a URL path that starts and ends with /, e.g. /api/",
      ),
    ]),
  ),
  websocket: z.prefault(
    z.pipe(
      key([r.boolean]),
      z.transform((v) => r.BOOLEANS.get(v.toLowerCase()) === true),
    ),
    SERVICE_DEFAULTS.websocket,
  ),
  // What the service may reach over IP (systemd IPAddressDeny/Allow); any: no restriction.
  network: z.prefault(
    z.pipe(
      key([r.networkAccess]),
      z.transform((v): NetworkAccess => {
        const t = v.trim().toLowerCase();
        return t === "any" || t === "localhost" ? t : v.split(",").map((x) => x.trim());
      }),
    ),
    SERVICE_DEFAULTS.network,
  ),
});

export const triggerSchema = z.object({
  // Checked against `systemd-analyze calendar` by `rf-agent install`, where systemd is at hand.
  schedule: z.prefault(key([r.calendarText]), TRIGGER_DEFAULTS.schedule),
});

export const webhookSchema = z.object({
  listen: z.prefault(
    z.pipe(
      key([r.listenAddress]),
      z.transform((v) => {
        const cut = v.lastIndexOf(":");
        return { host: v.slice(0, cut).replace(/^\[|\]$/g, ""), port: Number(v.slice(cut + 1)) };
      }),
    ),
    WEBHOOK_DEFAULTS.listen,
  ),
  secret_file: z.prefault(key([r.nonEmpty, r.absolutePath, r.plainPath]), WEBHOOK_DEFAULTS.secret_file),
  provider: z.prefault(
    z.pipe(
      key([r.oneOf(WEBHOOK_PROVIDERS)]),
      z.transform((v) => v as WebhookProvider),
    ),
    WEBHOOK_DEFAULTS.provider,
  ),
});

/** The fixed sections, by the name written in brackets. */
export const SECTION_SCHEMAS = {
  app: appSchema,
  health: healthSchema,
  nginx: nginxSchema,
  tls: tlsSchema,
  switch: switchSchema,
  hooks: hooksSchema,
  notify: notifySchema,
  metrics: metricsSchema,
  trigger: triggerSchema,
  webhook: webhookSchema,
} as const;
export type FixedSection = keyof typeof SECTION_SCHEMAS;

export const keysOf = (schema: z.ZodMiniObject): string[] => Object.keys(schema.shape);
