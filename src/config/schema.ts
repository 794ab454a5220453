// The zod schema of each section, over the raw strings read from the file. Every key is checked on its
// own (zod collects all of them), and each reports only its first failing rule.
import { z } from "zod";
import { splitArgs } from "./args.js";
import {
  APP_DEFAULTS,
  HEALTH_DEFAULTS,
  NGINX_DEFAULTS,
  SERVICE_DEFAULTS,
  SWITCH_DEFAULTS,
} from "./defaults.js";
import * as r from "./rules.js";

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
  key([r.seconds(min)])
    .transform(Number)
    .prefault(fallback);

export const appSchema = z.object({
  name: key([
    r.matches(APP_NAME, "must be 1-40 lowercase letters, digits or -, starting with a letter"),
  ]).prefault(APP_DEFAULTS.name),
  repo: key(
    [r.nonEmpty, r.gitRepo],
    "required; set it to the git URL (or absolute path) of the app's repository, e.g. repo = https://git.example.com/app.git",
  ),
  branch: key([r.gitBranch]).prefault(APP_DEFAULTS.branch),
  root: key([r.absolutePath, r.notRoot, r.normalizedPath, r.plainPath]).optional(),
  user: userSchema.optional(),
  python: key([r.absolutePath, r.plainPath]).prefault(APP_DEFAULTS.python),
  requirements: key([r.nonEmpty, r.relativeInside]).prefault(APP_DEFAULTS.requirements),
  // Read from the raw line (see read.ts), so quotes and ; # are handled here, not by `ini`.
  pip_args: key([r.words(true)])
    .transform((v) => {
      const split = splitArgs(v, { comments: true });
      return split.ok ? split.words : [];
    })
    .prefault(APP_DEFAULTS.pip_args),
  env_file: key([(v) => (v === "" ? undefined : (r.absolutePath(v) ?? r.plainPath(v)))])
    .transform((v) => (v === "" ? null : v))
    .prefault(APP_DEFAULTS.env_file),
});

export const healthSchema = z.object({
  timeout: seconds("positive", HEALTH_DEFAULTS.timeout),
  interval: seconds("positive", HEALTH_DEFAULTS.interval),
  successes: key([r.integerIn(1, 100, "a whole number")])
    .transform(Number)
    .prefault(HEALTH_DEFAULTS.successes),
});

export const nginxSchema = z.object({
  listen: key([r.port]).transform(Number).prefault(NGINX_DEFAULTS.listen),
  server_name: key([
    r.matches(/\S/, "must name at least one server, or _ for any"),
    r.matches(/^[^;{}"'\\]*$/, "must be nginx server names separated by spaces, without ; { } \\ or quotes"),
  ]).prefault(NGINX_DEFAULTS.server_name),
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
    ],
    "required; the command that starts this service, with {port} where its port goes",
  ),
  ports: key([r.portPair], "required; the blue and green ports, e.g. ports = 8000, 8001").transform((v) => {
    const [blue, green] = v.split(",").map(Number) as [number, number];
    return { blue, green };
  }),
  health: key([r.matches(/^\/[\x21-\x7e]*$/, "must be a URL path starting with /, e.g. /health")]).prefault(
    SERVICE_DEFAULTS.health,
  ),
  // Required when there are several services; build.ts fills in the sole service's default.
  route: key([
    r.matches(/^\/(?:[A-Za-z0-9._~%+-]+\/)*$/, "must be a URL path that starts and ends with /, e.g. /api/"),
  ]).optional(),
  websocket: key([r.boolean])
    .transform((v) => r.BOOLEANS.get(v.toLowerCase()) === true)
    .prefault(SERVICE_DEFAULTS.websocket),
});

/** The fixed sections, by the name written in brackets. */
export const SECTION_SCHEMAS = {
  app: appSchema,
  health: healthSchema,
  nginx: nginxSchema,
  switch: switchSchema,
} as const;
export type FixedSection = keyof typeof SECTION_SCHEMAS;

export const keysOf = (schema: z.ZodObject): string[] => Object.keys(schema.shape);
