// Checks on a single value. Each returns what is wrong (completing "[app] root: ...") or undefined.
import { isIPv4, isIPv6 } from "node:net";
import path from "node:path";
import { splitArgs } from "./args.js";
import { MAX_SECONDS } from "./defaults.js";

export type Rule = (value: string) => string | undefined;

const when =
  (bad: (value: string) => boolean, message: string): Rule =>
  (value) =>
    bad(value) ? message : undefined;

const isControl = (ch: string): boolean => {
  const code = ch.codePointAt(0)!;
  return (
    (code < 0x20 && code !== 0x09) || code === 0x7f || code === 0x85 || code === 0x2028 || code === 0x2029
  );
};

// Values end up in unit files and nginx config, where a line break would start a new directive.
export const oneLine = when((v) => [...v].some(isControl), "must be one line without control characters");
export const nonEmpty = when((v) => v === "", "must not be empty");

export const matches = (pattern: RegExp, message: string): Rule => when((v) => !pattern.test(v), message);
/** One of a fixed list of words (a mode, a provider). */
export const oneOf = (values: readonly string[]): Rule =>
  when((v) => !values.includes(v), `must be one of ${values.join(", ")}`);

export const absolutePath = when((v) => !v.startsWith("/"), "must be an absolute path");
// root and env_file are written into unit files, where spaces separate paths and % starts a specifier.
export const plainPath = matches(
  /^[A-Za-z0-9._/@+-]*$/,
  "must use only letters, digits and . _ - + @ / (it goes into systemd unit files)",
);
export const notRoot = when((v) => v === "/", "must not be /; the app needs a directory of its own");
export const normalizedPath: Rule = (v) => {
  const normal = path.posix.normalize(v).replace(/(.)\/$/, "$1");
  return normal === v
    ? undefined
    : `must be a normalized path (no //, . or .. parts, no trailing /), e.g. ${JSON.stringify(normal)}`;
};

export const relativeInside: Rule = (v) => {
  if (v.startsWith("/")) return "must be a path relative to the checkout, not an absolute one";
  if (v.split("/").includes("..")) return 'must stay inside the checkout (no ".." parts)';
  return undefined;
};

// Anything `git clone` accepts that does not depend on the agent's working directory.
const GIT_URL = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/\S+$/;
const SCP_LIKE = /^(?:[^@/\s:]+@)?[^@/\s:]+:\S+$/;
export const gitRepo: Rule = (v) => {
  if (/\s/.test(v)) return "must not contain spaces";
  if (v.startsWith("-")) return 'must not start with "-"';
  if (v.startsWith("/") || GIT_URL.test(v) || SCP_LIKE.test(v)) return undefined;
  return "must be a git URL (https://..., ssh://..., git@host:path) or an absolute path";
};

// The parts of git check-ref-format(1) a user could plausibly trip over.
export const gitBranch = when(
  (v) => !/^[^\s~^:?*[\\]+$/.test(v) || /^[-/.]|[/.]$|\.\.|\/\/|@\{|\.lock$/.test(v) || v === "@",
  "must be a git branch name, e.g. main",
);

const DECIMAL = /^(?:\d+(?:\.\d+)?|\.\d+)$/;
export const seconds = (min: "positive" | "zero"): Rule =>
  when(
    (v) => !DECIMAL.test(v) || (min === "positive" ? Number(v) <= 0 : false) || Number(v) > MAX_SECONDS,
    `must be a number of seconds ${min === "positive" ? "greater than 0" : "(0 or more)"}, at most ${MAX_SECONDS}`,
  );

export const integerIn = (min: number, max: number, what: string): Rule =>
  when(
    (v) => !/^\d+$/.test(v) || Number(v) < min || Number(v) > max,
    `must be ${what} from ${min} to ${max}`,
  );

export const port = integerIn(1, 65535, "a port number");

export const portPair: Rule = (v) => {
  const parts = v.split(",").map((p) => p.trim());
  if (parts.length !== 2) return 'must be two ports, blue then green, e.g. "8000, 8001"';
  const bad = parts.find((p) => port(p) !== undefined);
  if (bad !== undefined)
    return `must be two port numbers from 1 to 65535, but ${JSON.stringify(bad)} is not one`;
  if (Number(parts[0]) === Number(parts[1])) return "the blue and green ports must differ";
  return undefined;
};

export const BOOLEANS: ReadonlyMap<string, boolean> = new Map([
  ["true", true],
  ["yes", true],
  ["1", true],
  ["false", false],
  ["no", false],
  ["0", false],
]);
export const boolean = when((v) => !BOOLEANS.has(v.toLowerCase()), "must be true or false (or yes/no, 1/0)");

export const words = (comments: boolean): Rule => {
  return (v) => {
    const split = splitArgs(v, { comments });
    return split.ok ? undefined : split.error;
  };
};

// systemd reads a leading + - @ : ! (or !!) of ExecStart= as a prefix, not as part of the program:
// "+" runs the service as root with every privilege, "!"/"!!" skips the User= switch, "-" ignores a
// failure. A service command must start with the program itself.
export const EXEC_PREFIX = /^[+\-@:!]/;
export const noExecPrefix: Rule = (v) => {
  const split = splitArgs(v);
  const first = split.ok ? split.words[0] : undefined;
  if (first === undefined || !EXEC_PREFIX.test(first)) return undefined;
  return `must not start with ${JSON.stringify(first.startsWith("!!") ? "!!" : first[0])}: systemd reads it as an ExecStart= prefix ("+" would run the service as root); start with the program itself, e.g. uvicorn main:app --port {port}`;
};

// The webhook listener runs unprivileged (no CAP_NET_BIND_SERVICE), so its port must be >= 1024.
const LISTEN = /^(?:(\d{1,3}(?:\.\d{1,3}){3})|\[([0-9A-Fa-f:.]+)\]):(\d{1,5})$/;
export const listenAddress: Rule = (v) => {
  const m = LISTEN.exec(v);
  const example = "e.g. 127.0.0.1:9000, 0.0.0.0:9000 or [::1]:9000";
  if (!m) return `must be IP:PORT, ${example}`;
  if (m[1] !== undefined && m[1].split(".").some((part) => Number(part) > 255))
    return `must be IP:PORT with a valid IPv4 address, ${example}`;
  const p = Number(m[3]);
  if (p < 1024 || p > 65535)
    return "port must be from 1024 to 65535 (the listener runs without privileges to bind lower ports)";
  return undefined;
};

// systemd expands % specifiers in unit files; no calendar expression needs one.
export const calendarText = when(
  (v) => v.includes("%") || v.includes("\\"),
  'must be a systemd OnCalendar expression (no % or \\), e.g. "*:0/5" or "Mon..Fri 03:00"',
);

/** One address or CIDR block, IPv4 or IPv6, e.g. 10.0.0.5, 10.0.0.0/16 or fd00::/8. */
export function isCidr(v: string): boolean {
  const [addr = "", prefix, extra] = v.split("/");
  if (extra !== undefined) return false;
  const bits = isIPv4(addr) ? 32 : isIPv6(addr) ? 128 : 0;
  if (bits === 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits);
}

// [service.NAME] network: any, localhost, or addresses/CIDR blocks it may reach besides localhost.
export const networkAccess: Rule = (v) => {
  const example = "any, localhost, or addresses/CIDR blocks, e.g. network = 10.0.0.5, 192.168.10.0/24";
  const t = v.trim().toLowerCase();
  if (t === "any" || t === "localhost") return undefined;
  const items = v.split(",").map((x) => x.trim());
  if (items.some((x) => x === "")) return `must be ${example}`;
  const bad = items.find((x) => !isCidr(x));
  if (bad === undefined) return undefined;
  if (["any", "localhost"].includes(bad.toLowerCase()))
    return `"${bad}" stands alone, not in a list: localhost is always allowed with a list; ${example}`;
  return `"${bad}" is not an IP address or CIDR block; must be ${example}`;
};
