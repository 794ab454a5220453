import ini from "ini";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../../src/config/load.js";
import type { Config } from "../../../src/config/types.js";
import { FULL_EXAMPLE, MINIMAL, REPO, SOURCE, withLines } from "./helpers.js";

const parse = (text: string): Config => parseConfig(text, SOURCE);

const DEFAULT_SERVICES = [
  {
    name: "api",
    command: "uvicorn backend.main:app --host 127.0.0.1 --port {port}",
    ports: { blue: 8000, green: 8001 },
    health: "/health",
    route: "/api/",
    websocket: false,
    network: "any" as const,
  },
  {
    name: "web",
    command: "streamlit run Home.py --server.port {port} --server.address 127.0.0.1 --server.headless true",
    ports: { blue: 8501, green: 8502 },
    health: "/_stcore/health",
    route: "/",
    websocket: true,
    network: "any" as const,
  },
];

describe("parseConfig: valid files", () => {
  it("fills every default from a file with only [app] repo", () => {
    expect(parse(MINIMAL)).toEqual({
      source: SOURCE,
      app: {
        name: "app",
        repo: REPO,
        branch: "main",
        root: "/srv/app",
        dataDir: "/var/lib/app",
        user: "app",
        python: "/usr/bin/python3",
        requirements: "requirements.txt",
        pipArgs: [],
        envFile: null,
        colorEnvFiles: { blue: null, green: null },
        requiredEnv: [],
        secretMinLength: 16,
      },
      services: DEFAULT_SERVICES,
      health: { timeoutSec: 60, intervalSec: 0.1, stableSec: 0.5, successes: 3 },
      nginx: {
        listen: 80,
        serverName: "_",
        previewListen: "",
        previewServerName: "",
        include: null,
        httpInclude: null,
      },
      tls: {
        mode: "off",
        listen: 443,
        cert: null,
        key: null,
        email: "",
        acmeServer: "https://acme-v02.api.letsencrypt.org/directory",
        hstsSec: 0,
      },
      switch: { graceSec: 5, drainSec: 30, standbySec: 0, watchSec: 10 },
      hooks: { preSwitch: "", postSwitch: "", postRollback: "", timeoutSec: 300 },
      notify: { url: "", timeoutSec: 5 },
      metrics: { textfile: null },
      trigger: { schedule: null },
      webhook: {
        listen: { host: "127.0.0.1", port: 9000 },
        secretFile: "/etc/rf-agent/webhook.secret",
        provider: "github",
      },
    } satisfies Config);
  });

  it("reads the documented example exactly, inline comments and all", () => {
    expect(parse(FULL_EXAMPLE)).toEqual({
      source: SOURCE,
      app: {
        name: "rio-futuro",
        repo: REPO,
        branch: "main",
        root: "/srv/rio-futuro",
        dataDir: "/var/lib/rio-futuro",
        user: "rio",
        python: "/usr/bin/python3",
        requirements: "requirements.txt",
        pipArgs: [],
        envFile: null,
        colorEnvFiles: { blue: null, green: null },
        requiredEnv: [],
        secretMinLength: 16,
      },
      services: DEFAULT_SERVICES,
      health: { timeoutSec: 60, intervalSec: 0.1, stableSec: 0.5, successes: 3 },
      nginx: {
        listen: 80,
        serverName: "_",
        previewListen: "",
        previewServerName: "",
        include: null,
        httpInclude: null,
      },
      tls: {
        mode: "off",
        listen: 443,
        cert: null,
        key: null,
        email: "",
        acmeServer: "https://acme-v02.api.letsencrypt.org/directory",
        hstsSec: 0,
      },
      switch: { graceSec: 5, drainSec: 30, standbySec: 0, watchSec: 10 },
      hooks: { preSwitch: "", postSwitch: "", postRollback: "", timeoutSec: 300 },
      notify: { url: "", timeoutSec: 5 },
      metrics: { textfile: null },
      trigger: { schedule: null },
      webhook: {
        listen: { host: "127.0.0.1", port: 9000 },
        secretFile: "/etc/rf-agent/webhook.secret",
        provider: "github",
      },
    } satisfies Config);
  });

  it("derives root and user from the app name", () => {
    const { app } = parse(withLines("name = shop-2"));
    expect(app).toMatchObject({ name: "shop-2", root: "/srv/shop-2", user: "shop-2" });
  });

  it("keeps services in file order, and defaults health and websocket", () => {
    const config = parse(
      withLines(
        "[service.web]",
        "command = streamlit run Home.py --server.port {port}",
        "ports = 9000, 9001",
        "route = /",
        "[service.api]",
        "command = uvicorn main:app --port {port}",
        "ports = 9100, 9101",
        "route = /api/v1/",
      ),
    );
    expect(config.services.map((s) => s.name)).toEqual(["web", "api"]);
    expect(config.services[1]).toEqual({
      name: "api",
      command: "uvicorn main:app --port {port}",
      ports: { blue: 9100, green: 9101 },
      health: "/health",
      route: "/api/v1/",
      websocket: false,
      network: "any",
    });
  });

  it("routes a sole service at / unless told otherwise", () => {
    const config = parse(withLines("[service.api]", "command = run --port {port}", "ports = 7000, 7001"));
    expect(config.services).toEqual([
      {
        name: "api",
        command: "run --port {port}",
        ports: { blue: 7000, green: 7001 },
        health: "/health",
        route: "/",
        websocket: false,
        network: "any",
      },
    ]);
  });

  it.each([
    ["true", true],
    ["TRUE", true],
    ["Yes", true],
    ["1", true],
    ["false", false],
    ["no", false],
    ["NO", false],
    ["0", false],
  ])("accepts websocket = %s", (value, expected) => {
    const config = parse(
      withLines("[service.ui]", "command = run {port}", "ports = 7000, 7001", `websocket = ${value}`),
    );
    expect(config.services[0]!.websocket).toBe(expected);
  });

  it("splits pip_args like a shell, honouring quotes and ini comments", () => {
    const text = withLines(
      `pip_args = --index-url "https://pypi.example.com/simple" -q 'two words' ; a comment`,
    );
    expect(parse(text).app.pipArgs).toEqual([
      "--index-url",
      "https://pypi.example.com/simple",
      "-q",
      "two words",
    ]);
  });

  it('keeps a pip_args value wrapped in quotes as one argument (ini alone would unquote "a b")', () => {
    expect(parse(withLines('pip_args = "a b"')).app.pipArgs).toEqual(["a b"]);
    expect(parse(withLines("pip_args = '--pre' '-q'")).app.pipArgs).toEqual(["--pre", "-q"]);
    expect(parse(withLines("pip_args = --extra=a\\;b")).app.pipArgs).toEqual(["--extra=a;b"]);
  });

  it("reads numbers, env_file and every other key as written", () => {
    const config = parse(`[app]
repo = git@github.com:acme/shop.git
branch = release/2.x
root = /opt/shop
user = _shop
python = /opt/python3.12/bin/python3
requirements = deploy/requirements-prod.txt
env_file = /etc/shop/env
[health]
timeout = 90.5
interval = .25
stable = 2
successes = 1
[nginx]
listen = 8080
server_name = shop.example.com www.shop.example.com
[switch]
grace = 0
drain = 0.5
standby = 600
watch = 0
`);
    expect(config.app).toMatchObject({
      repo: "git@github.com:acme/shop.git",
      branch: "release/2.x",
      root: "/opt/shop",
      user: "_shop",
      python: "/opt/python3.12/bin/python3",
      requirements: "deploy/requirements-prod.txt",
      envFile: "/etc/shop/env",
    });
    expect(config.health).toEqual({ timeoutSec: 90.5, intervalSec: 0.25, stableSec: 2, successes: 1 });
    expect(config.nginx).toEqual({
      listen: 8080,
      serverName: "shop.example.com www.shop.example.com",
      previewListen: "",
      previewServerName: "",
      include: null,
      httpInclude: null,
    });
    expect(config.switch).toEqual({ graceSec: 0, drainSec: 0.5, standbySec: 600, watchSec: 0 });
  });

  it.each([
    "https://git.example.com/app.git",
    "ssh://git@host:2222/app.git",
    "git@host:team/app.git",
    "file:///srv/git/app.git",
    "/srv/git/app",
  ])("accepts repo = %s", (repo) => {
    expect(parse(`[app]\nrepo = ${repo}\n`).app.repo).toBe(repo);
  });
});

describe("parseConfig: ini syntax", () => {
  it("the ini package alone reads a header with a trailing comment as a key of the previous section", () => {
    // Documents the quirk parseConfig works around; if ini ever fixes it, this test says so.
    const decoded = ini.decode("[app]\nname = x\n[health]   ; health checks\ntimeout = 5\n");
    expect(decoded["health"]).toBeUndefined();
    expect(decoded["app"]).toMatchObject({ "[health]": true, timeout: "5" });
  });

  it("reads keys after `[health]  ; comment` into [health]", () => {
    const config = parse(
      withLines("[health]   ; health checks", "timeout = 5", "[nginx] # the proxy", "listen = 81"),
    );
    expect(config.health.timeoutSec).toBe(5);
    expect(config.nginx.listen).toBe(81);
  });

  it("accepts indented headers and keys", () => {
    const config = parse(`  [app]\n  repo = ${REPO}\n\t[health]\n\ttimeout = 7\n`);
    expect(config.health.timeoutSec).toBe(7);
  });

  it("strips inline ; and # comments and trims values", () => {
    const config = parse(`[app]\n  repo   =   ${REPO}   ; where it lives\nbranch=dev# a comment\n`);
    expect(config.app.repo).toBe(REPO);
    expect(config.app.branch).toBe("dev");
  });

  it("skips blank and comment lines anywhere", () => {
    const config = parse(`; top\n# also\n\n[app]\n\n   ; indented comment\nrepo = ${REPO}\n\n`);
    expect(config.app.repo).toBe(REPO);
  });

  it("accepts CRLF line endings and a byte-order mark", () => {
    const config = parse(`\uFEFF[app]\r\nrepo = ${REPO}\r\n[health]\r\ntimeout = 9\r\n`);
    expect(config.app.repo).toBe(REPO);
    expect(config.health.timeoutSec).toBe(9);
  });

  it("unquotes values wrapped in quotes, as ini does", () => {
    const config = parse(withLines('name = "my-app"', "branch = 'main'", 'requirements = "reqs;prod.txt"'));
    expect(config.app.name).toBe("my-app");
    expect(config.app.branch).toBe("main");
    expect(config.app.requirements).toBe("reqs;prod.txt");
  });

  it("lets \\; and \\# stand for themselves in a value", () => {
    const config = parse(
      withLines("[service.api]", "command = sh -c 'run {port} \\; true' \\#1", "ports = 7000, 7001"),
    );
    expect(config.services[0]!.command).toBe("sh -c 'run {port} ; true' #1");
  });
});
