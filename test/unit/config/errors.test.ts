import { describe, expect, it } from "vitest";
import { parseConfig } from "../../../src/config/load.js";
import { ExitCode, RfError } from "../../../src/errors.js";
import { MINIMAL, SOURCE, problemOf, problemsOf, withLines } from "./helpers.js";

const service = (name: string, ...lines: string[]): string[] => [`[service.${name}]`, ...lines];
const apiWith = (...lines: string[]): string =>
  withLines(...service("api", "command = run {port}", "ports = 7000, 7001", ...lines));

describe("the thrown error", () => {
  it("is a CONFIG RfError (exit 2) naming the source and the single problem", () => {
    let caught: unknown;
    try {
      parseConfig("[app]\nrepo = relative/dir\n", SOURCE);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(RfError);
    const e = caught as RfError;
    expect(e.code).toBe("CONFIG");
    expect(e.exitCode).toBe(ExitCode.usage);
    expect(e.message).toBe(
      `config ${SOURCE} is invalid: [app] repo: must be a git URL (https://..., ssh://..., git@host:path) or an absolute path, got "relative/dir"`,
    );
    expect(e.hint).toBe(
      `edit ${SOURCE} as described above; every key is documented in README.md under "Configuration"`,
    );
  });

  it("reports every problem at once, one line each, in details", () => {
    let caught: RfError | undefined;
    try {
      parseConfig("[app]\nroot = relative/path\n[health]\ntimeout = 0\n[nginx]\nlisten = http\n", SOURCE);
    } catch (e) {
      caught = e as RfError;
    }
    expect(caught?.message).toBe(`config ${SOURCE} has 4 problems`);
    expect(caught?.details?.split("\n")).toEqual([
      "[app] repo: required; set it to the git URL (or absolute path) of the app's repository, e.g. repo = https://git.example.com/app.git",
      '[app] root: must be an absolute path, got "relative/path"',
      '[health] timeout: must be a number of seconds greater than 0, at most 86400, got "0"',
      '[nginx] listen: must be a port number from 1 to 65535, got "http"',
    ]);
  });

  it("never leaks zod internals or stack traces", () => {
    const lines = problemsOf("[app]\nname = Bad Name\n[service.x]\nports = a\n[health]\nsuccesses = -1\n");
    for (const line of lines) {
      expect(line).toMatch(/^\[/);
      expect(line).not.toMatch(/zod|invalid_type|expected string|received|\n\s+at /i);
    }
  });
});

describe("syntax", () => {
  it("rejects a broken section header, naming its line", () => {
    expect(problemOf(withLines("[health", "timeout = 5"))).toBe(
      'line 3: "[health" is not a section header; write [name] alone on its line (a ; comment may follow)',
    );
  });

  it("rejects a header with text after it", () => {
    expect(problemOf(withLines("[nginx] listen = 80"))).toMatch(
      /^line 3: "\[nginx\] listen = 80" is not a section header/,
    );
  });

  it("rejects nested brackets", () => {
    expect(problemOf(withLines("[[app]]"))).toMatch(/^line 3: "\[\[app\]\]" is not a section header/);
  });

  it("rejects a line that is not key = value", () => {
    expect(problemOf(withLines("branch"))).toBe('[app] line 3: expected key = value, got "branch"');
  });

  it("rejects keys before the first section", () => {
    expect(problemOf(`repo = x\n${MINIMAL}`)).toBe(
      'line 1: key "repo" comes before any [section] header; move it under the section it belongs to',
    );
  });

  it("rejects a key set twice, naming both lines", () => {
    expect(problemOf(withLines("[health]", "timeout = 5", "timeout = 6"))).toBe(
      "[health] timeout: set twice (lines 4 and 5); keep one",
    );
  });

  it("rejects a section written twice", () => {
    expect(problemOf(withLines("[health]", "timeout = 5", "[health]", "interval = 1"))).toBe(
      "[health]: appears twice (lines 3 and 5); merge them into one section",
    );
  });

  it("rejects control characters smuggled in through a quoted value", () => {
    expect(problemOf(apiWith().replace("command = run {port}", 'command = "run\\n{port}"'))).toBe(
      '[service.api] command: must be one line without control characters, got "run\\n{port}"',
    );
  });
});

describe("unknown sections and keys", () => {
  it("suggests the closest section", () => {
    expect(problemOf(withLines("[heath]"))).toBe("[heath]: unknown section; did you mean [health]?");
    expect(problemOf(withLines("[Nginx]"))).toBe("[Nginx]: unknown section; did you mean [nginx]?");
  });

  it("suggests [service.NAME] for a misspelt service prefix", () => {
    expect(problemOf(withLines("[services.api]"))).toBe(
      "[services.api]: unknown section; did you mean [service.api]?",
    );
  });

  it("lists the sections when nothing is close", () => {
    expect(problemOf(withLines("[database]"))).toBe(
      "[database]: unknown section; the sections are [app], [health], [nginx], [switch] and [service.NAME]",
    );
  });

  it("does not check keys inside an unknown section", () => {
    expect(problemsOf(withLines("[database]", "host = x", "port = 5432"))).toHaveLength(1);
  });

  it("asks for a name on a bare [service]", () => {
    expect(problemOf(withLines("[service]"))).toBe(
      "[service]: a service section needs a name, e.g. [service.api]",
    );
  });

  it.each(["API", "1st", "a_b", "x".repeat(21), "a.b", ""])("rejects the service name %j", (name) => {
    expect(problemOf(withLines(`[service.${name}]`))).toBe(
      `[service.${name}]: service name ${JSON.stringify(name)} must be 1-20 lowercase letters, digits or -, starting with a letter`,
    );
  });

  it("suggests the closest key", () => {
    expect(problemOf(withLines("[health]", "timout = 5"))).toBe(
      '[health] timout: unknown key; did you mean "timeout"?',
    );
    expect(problemOf(withLines("Branch = main"))).toBe('[app] Branch: unknown key; did you mean "branch"?');
  });

  it("says which section a misplaced key belongs in", () => {
    expect(problemOf(withLines("listen = 80"))).toBe("[app] listen: unknown key here; it belongs in [nginx]");
    expect(problemOf(withLines("websocket = true"))).toBe(
      "[app] websocket: unknown key here; it belongs in a [service.NAME] section",
    );
  });

  it("lists the section's keys when nothing is close", () => {
    expect(problemOf(withLines("[switch]", "colour = blue"))).toBe(
      "[switch] colour: unknown key; [switch] takes grace, drain, standby, watch",
    );
  });

  it("rejects ini's array syntax", () => {
    expect(problemOf(apiWith("ports[] = 7002"))).toBe(
      '[service.api] "ports[]": unknown key; did you mean "ports"?',
    );
  });
});

describe("[app]", () => {
  it("requires repo, even when [app] is missing", () => {
    expect(problemOf("")).toMatch(/^\[app\] repo: required; /);
    expect(problemOf("[health]\ntimeout = 5\n")).toMatch(/^\[app\] repo: required; /);
    expect(problemOf("[app]\nname = x\n")).toMatch(/^\[app\] repo: required; /);
  });

  it.each([
    ["", "must not be empty"],
    ["relative/dir", "must be a git URL (https://..., ssh://..., git@host:path) or an absolute path"],
    ["/srv/my repo", "must not contain spaces"],
    ["--upload-pack=evil", 'must not start with "-"'],
  ])("rejects repo = %j", (repo, message) => {
    expect(problemOf(`[app]\nrepo = ${repo}\n`)).toBe(`[app] repo: ${message}, got ${JSON.stringify(repo)}`);
  });

  it.each([
    ["/srv/app/data", "/srv/app"],
    ["/srv/app", "/srv/app"],
    ["/srv", "/srv/app"],
  ])("rejects data_dir = %j with root = %j: the services must never write their code", (dataDir, root) => {
    expect(problemOf(withLines(`root = ${root}`, `data_dir = ${dataDir}`))).toBe(
      `[app] data_dir: must lie outside [app] root (${root}): the services may write their data directory, but never their code or venvs; e.g. data_dir = /var/lib/app`,
    );
  });

  it("accepts a data_dir of its own, and defaults it to /var/lib/NAME", () => {
    expect(parseConfig(withLines("data_dir = /data/app"), SOURCE).app.dataDir).toBe("/data/app");
    expect(parseConfig(withLines("name = shop"), SOURCE).app.dataDir).toBe("/var/lib/shop");
  });

  it.each(["Rio", "1app", "-app", "app_x", "a".repeat(41), ""])("rejects name = %j", (name) => {
    expect(problemOf(withLines(`name = ${name}`))).toBe(
      `[app] name: must be 1-40 lowercase letters, digits or -, starting with a letter, got ${JSON.stringify(name)}`,
    );
  });

  it.each(["has space", "-x", "a..b", "feature/", "x.lock", "a~1", ""])("rejects branch = %j", (branch) => {
    expect(problemOf(withLines(`branch = ${branch}`))).toBe(
      `[app] branch: must be a git branch name, e.g. main, got ${JSON.stringify(branch)}`,
    );
  });

  it.each([
    ["relative/path", "must be an absolute path"],
    ["/", "must not be /; the app needs a directory of its own"],
    ["/srv//app", 'must be a normalized path (no //, . or .. parts, no trailing /), e.g. "/srv/app"'],
    ["/srv/app/", 'must be a normalized path (no //, . or .. parts, no trailing /), e.g. "/srv/app"'],
    ["/srv/../etc", 'must be a normalized path (no //, . or .. parts, no trailing /), e.g. "/etc"'],
    ["/srv/my app", "must use only letters, digits and . _ - + @ / (it goes into systemd unit files)"],
    ["/srv/%i", "must use only letters, digits and . _ - + @ / (it goes into systemd unit files)"],
  ])("rejects root = %j", (root, message) => {
    expect(problemOf(withLines(`root = ${root}`))).toBe(
      `[app] root: ${message}, got ${JSON.stringify(root)}`,
    );
  });

  it.each(["Rio", "1rio", "a".repeat(33), "rio user"])("rejects user = %j", (user) => {
    expect(problemOf(withLines(`user = ${user}`))).toMatch(
      /^\[app\] user: must be a unix user name: .*, got "/,
    );
  });

  it("rejects user = root", () => {
    expect(problemOf(withLines("user = root"))).toBe(
      '[app] user: must not be root; the app runs as an unprivileged user, got "root"',
    );
  });

  it("rejects a default user the app name cannot provide", () => {
    expect(problemOf(withLines("name = root"))).toBe(
      '[app] user: not set, and its default (the app name "root") must not be root; the app runs as an unprivileged user; set user = NAME',
    );
    expect(problemOf(withLines(`name = ${"a".repeat(33)}`))).toMatch(
      /^\[app\] user: not set, and its default/,
    );
    expect(() => parseConfig(withLines(`name = ${"a".repeat(33)}`, "user = short"), SOURCE)).not.toThrow();
  });

  it("rejects a relative python", () => {
    expect(problemOf(withLines("python = python3"))).toBe(
      '[app] python: must be an absolute path, got "python3"',
    );
  });

  it.each([
    ["/srv/req.txt", "must be a path relative to the checkout, not an absolute one"],
    ["../req.txt", 'must stay inside the checkout (no ".." parts)'],
    ["deploy/../../req.txt", 'must stay inside the checkout (no ".." parts)'],
    ["", "must not be empty"],
  ])("rejects requirements = %j", (requirements, message) => {
    expect(problemOf(withLines(`requirements = ${requirements}`))).toBe(
      `[app] requirements: ${message}, got ${JSON.stringify(requirements)}`,
    );
  });

  it("rejects pip_args with an unclosed quote", () => {
    expect(problemOf(withLines(`pip_args = --index-url "https://x`))).toBe(
      `[app] pip_args: has an unclosed " quote, got "--index-url \\"https://x"`,
    );
  });

  it("rejects a relative env_file", () => {
    expect(problemOf(withLines("env_file = app.env"))).toBe(
      '[app] env_file: must be an absolute path, got "app.env"',
    );
  });

  it("reads env_file = null as the text null, which is not a path", () => {
    expect(problemOf(withLines("env_file = null"))).toBe(
      '[app] env_file: must be an absolute path, got "null"',
    );
  });
});

describe("[service.NAME]", () => {
  it("requires command and ports in a user-given section", () => {
    expect(problemsOf(withLines("[service.api]", "route = /"))).toEqual([
      "[service.api] command: required; the command that starts this service, with {port} where its port goes",
      "[service.api] ports: required; the blue and green ports, e.g. ports = 8000, 8001",
    ]);
  });

  it("requires {port} in command", () => {
    expect(problemOf(withLines("[service.api]", "command = uvicorn main:app", "ports = 7000, 7001"))).toBe(
      `[service.api] command: must contain {port} where the service's port goes, got "uvicorn main:app"`,
    );
  });

  it("rejects a command with an unclosed quote", () => {
    expect(problemOf(withLines("[service.api]", "command = run {port} 'x", "ports = 7000, 7001"))).toBe(
      `[service.api] command: has an unclosed ' quote, got "run {port} 'x"`,
    );
  });

  it.each([
    ["7000", 'must be two ports, blue then green, e.g. "8000, 8001"'],
    ["7000, 7001, 7002", 'must be two ports, blue then green, e.g. "8000, 8001"'],
    ["7000 7001", 'must be two ports, blue then green, e.g. "8000, 8001"'],
    ["7000, x", 'must be two port numbers from 1 to 65535, but "x" is not one'],
    ["0, 7001", 'must be two port numbers from 1 to 65535, but "0" is not one'],
    ["7000, 65536", 'must be two port numbers from 1 to 65535, but "65536" is not one'],
    ["7000, -1", 'must be two port numbers from 1 to 65535, but "-1" is not one'],
    ["7000, 7000.5", 'must be two port numbers from 1 to 65535, but "7000.5" is not one'],
    ["7000, 7000", "the blue and green ports must differ"],
    ["7000, 07000", "the blue and green ports must differ"],
  ])("rejects ports = %j", (ports, message) => {
    expect(problemOf(withLines("[service.api]", "command = run {port}", `ports = ${ports}`))).toBe(
      `[service.api] ports: ${message}, got ${JSON.stringify(ports)}`,
    );
  });

  it("rejects a port used by two services", () => {
    expect(
      problemOf(
        withLines(
          ...service("api", "command = a {port}", "ports = 7000, 7001", "route = /api/"),
          ...service("web", "command = w {port}", "ports = 7002, 7000", "route = /"),
        ),
      ),
    ).toBe("[service.web] ports: 7000 is already used by [service.api]");
  });

  it("rejects a service port equal to nginx listen", () => {
    expect(
      problemOf(
        withLines(...service("api", "command = a {port}", "ports = 8080, 7001"), "[nginx]", "listen = 8080"),
      ),
    ).toBe("[service.api] ports: 8080 is also the port nginx listens on ([nginx] listen)");
  });

  it("blames [nginx] listen when it collides with a default service", () => {
    expect(problemOf(withLines("[nginx]", "listen = 8501"))).toBe(
      "[nginx] listen: 8501 is also a port of the default [service.web]",
    );
  });

  it.each(["health", "health/", "/health check", ""])("rejects health = %j", (health) => {
    expect(problemOf(apiWith(`health = ${health}`))).toBe(
      `[service.api] health: must be a URL path starting with /, e.g. /health, got ${JSON.stringify(health)}`,
    );
  });

  it.each(["api/", "/api", "//", "/a b/", "/api/{x}/", ""])("rejects route = %j", (route) => {
    expect(problemOf(apiWith(`route = ${route}`))).toBe(
      `[service.api] route: must be a URL path that starts and ends with /, e.g. /api/, got ${JSON.stringify(route)}`,
    );
  });

  it("requires route when there are several services", () => {
    expect(
      problemOf(
        withLines(
          ...service("api", "command = a {port}", "ports = 7000, 7001"),
          ...service("web", "command = w {port}", "ports = 7002, 7003", "route = /"),
        ),
      ),
    ).toBe(
      "[service.api] route: required when there are several services; the nginx location to proxy, e.g. route = /api/",
    );
  });

  it("rejects a route used by two services", () => {
    expect(
      problemOf(
        withLines(
          ...service("api", "command = a {port}", "ports = 7000, 7001", "route = /"),
          ...service("web", "command = w {port}", "ports = 7002, 7003", "route = /"),
        ),
      ),
    ).toBe('[service.web] route: "/" is already the route of [service.api]');
  });

  it.each(["maybe", "on", "2", ""])("rejects websocket = %j", (websocket) => {
    expect(problemOf(apiWith(`websocket = ${websocket}`))).toBe(
      `[service.api] websocket: must be true or false (or yes/no, 1/0), got ${JSON.stringify(websocket)}`,
    );
  });
});

describe("[nginx] include, http_include", () => {
  it("takes absolute paths, and refuses relative ones naming the key", () => {
    const c = parseConfig(
      withLines(
        "[nginx]",
        "include = /etc/nginx/local/site.conf",
        "http_include = /etc/nginx/local/http.conf",
      ),
      SOURCE,
    );
    expect(c.nginx).toMatchObject({
      include: "/etc/nginx/local/site.conf",
      httpInclude: "/etc/nginx/local/http.conf",
    });
    expect(problemOf(withLines("[nginx]", "include = local.conf"))).toMatch(
      /^\[nginx\] include: must be an absolute path/,
    );
  });
});

describe("[health], [nginx], [switch]", () => {
  it.each([
    ["timeout", "0"],
    ["timeout", "-1"],
    ["timeout", "1e3"],
    ["timeout", "86401"],
    ["interval", "0"],
    ["interval", "fast"],
  ])("rejects %s = %j", (key, value) => {
    expect(problemOf(withLines("[health]", `${key} = ${value}`))).toBe(
      `[health] ${key}: must be a number of seconds greater than 0, at most 86400, got ${JSON.stringify(value)}`,
    );
  });

  it.each(["-1", "soon", "1e3", "86401"])("rejects stable = %j", (value) => {
    expect(problemOf(withLines("[health]", `stable = ${value}`))).toBe(
      `[health] stable: must be a number of seconds (0 or more), at most 86400, got ${JSON.stringify(value)}`,
    );
  });

  it.each([
    ["stable = 60", "60"],
    ["stable = 61", "60"],
    ["timeout = 0.5", "0.5"],
    ["timeout = 2\nstable = 2.5", "2"],
  ])("rejects %j: stable must be shorter than timeout", (lines, timeout) => {
    expect(problemOf(withLines("[health]", lines))).toBe(
      `[health] stable: must be less than [health] timeout (${timeout} s), or no service could pass in time; e.g. stable = 0.5`,
    );
  });

  it("takes stable = 0, and a stable just under timeout", () => {
    expect(parseConfig(withLines("[health]", "stable = 0"), SOURCE).health.stableSec).toBe(0);
    expect(parseConfig(withLines("[health]", "timeout = 2", "stable = 1.9"), SOURCE).health).toMatchObject({
      timeoutSec: 2,
      stableSec: 1.9,
    });
  });

  it.each(["0", "1.5", "many", "101"])("rejects successes = %j", (value) => {
    expect(problemOf(withLines("[health]", `successes = ${value}`))).toBe(
      `[health] successes: must be a whole number from 1 to 100, got ${JSON.stringify(value)}`,
    );
  });

  it.each(["0", "65536", "http", "80.0", ""])("rejects listen = %j", (value) => {
    expect(problemOf(withLines("[nginx]", `listen = ${value}`))).toBe(
      `[nginx] listen: must be a port number from 1 to 65535, got ${JSON.stringify(value)}`,
    );
  });

  it.each(['"a{b"', "a}", "'x y'z", "a\\b"])("rejects server_name = %s", (value) => {
    expect(problemOf(withLines("[nginx]", `server_name = ${value}`))).toMatch(
      /^\[nginx\] server_name: must be nginx server names separated by spaces, without ; \{ \} \\ or quotes, got /,
    );
  });

  it("rejects an empty server_name", () => {
    expect(problemOf(withLines("[nginx]", "server_name ="))).toBe(
      '[nginx] server_name: must name at least one server, or _ for any, got ""',
    );
  });

  it.each(["grace", "drain", "standby", "watch"])("rejects a negative or non-numeric %s", (key) => {
    expect(problemsOf(withLines("[switch]", `${key} = -1`))).toEqual([
      `[switch] ${key}: must be a number of seconds (0 or more), at most 86400, got "-1"`,
    ]);
    expect(problemOf(withLines("[switch]", `${key} = soon`))).toMatch(
      new RegExp(`^\\[switch\\] ${key}: must be`),
    );
  });
});
