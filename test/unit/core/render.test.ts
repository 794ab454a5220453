import { describe, expect, it } from "vitest";
import type { Config, ServiceConfig } from "../../../src/config/types.js";
import { layoutFor } from "../../../src/core/layout.js";
import {
  describeNetwork,
  parseArmedSwitch,
  parseLiveInclude,
  previewEnabled,
  renderColorDropIn,
  renderLiveInclude,
  renderPreviewInclude,
  renderSite,
  renderTemplateUnit,
  siteHttps,
  renderUnits,
} from "../../../src/core/render.js";
import { sha, testConfig } from "../helpers/config.js";
import { readRendered as fixture, RENDERED } from "../helpers/rendered.js";

function setup(patch?: (config: Config) => void) {
  const config = testConfig(patch);
  const layout = layoutFor(config);
  const [api, web] = config.services;
  return { config, layout, api: api!, web: web! };
}

/** The lines of one `location ROUTE { ... }` block of a rendered site. */
function locationBlock(site: string, route: string): string[] {
  const lines = site.split("\n");
  const start = lines.indexOf(`    location ${route} {`);
  expect(start, `no location ${route}`).toBeGreaterThanOrEqual(0);
  const end = lines.indexOf("    }", start);
  return lines.slice(start, end + 1);
}

describe("test/fixtures/rendered", () => {
  it.each(Object.keys(RENDERED))("%s is exactly what the renderer writes", (name) => {
    expect(RENDERED[name]!().content).toBe(fixture(name));
  });
});

describe("renderTemplateUnit", () => {
  it("renders the api template exactly", () => {
    const { config, layout, api } = setup();
    const file = renderTemplateUnit(config, layout, api, "demo");
    expect(file.path).toBe("/etc/systemd/system/demo-api@.service");
    expect(file.mode).toBe(0o644);
    expect(file.content).toBe(fixture("demo-api@.service"));
  });

  it("renders the web template exactly", () => {
    const { config, layout, web } = setup();
    const file = renderTemplateUnit(config, layout, web, "demo");
    expect(file.path).toBe("/etc/systemd/system/demo-web@.service");
    expect(file.content).toBe(fixture("demo-web@.service"));
  });

  it("says no env_file when none is set, and names it when set", () => {
    const plain = setup();
    const lines = renderTemplateUnit(plain.config, plain.layout, plain.api, "demo").content.split("\n");
    expect(lines).toContain("# no env_file configured");
    expect(lines.some((l) => l.startsWith("EnvironmentFile="))).toBe(false);

    const withEnv = setup((c) => {
      c.app.envFile = "/etc/demo/env";
      c.switch.graceSec = 12.5;
    });
    const content = renderTemplateUnit(withEnv.config, withEnv.layout, withEnv.api, "www-data").content;
    expect(content).toBe(fixture("demo-api@.service.env-file"));
    expect(content.split("\n")).toContain("EnvironmentFile=/etc/demo/env");
    expect(content).not.toContain("# no env_file configured");
    expect(content.split("\n")).toContain("Group=www-data");
  });

  it("gives the app at least 15 s beyond the grace period to stop, never less than 20 s", () => {
    const stopLine = (graceSec: number) => {
      const { config, layout, api } = setup((c) => (c.switch.graceSec = graceSec));
      return renderTemplateUnit(config, layout, api, "demo")
        .content.split("\n")
        .find((l) => l.startsWith("TimeoutStopSec="));
    };
    expect(stopLine(0)).toBe("TimeoutStopSec=20");
    expect(stopLine(5)).toBe("TimeoutStopSec=20");
    expect(stopLine(6)).toBe("TimeoutStopSec=21");
    expect(stopLine(12.5)).toBe("TimeoutStopSec=28");
  });
});

describe("renderTemplateUnit network", () => {
  const ipLines = (network: ServiceConfig["network"]) => {
    const { config, layout, api } = setup();
    return renderTemplateUnit(config, layout, { ...api, network }, "demo")
      .content.split("\n")
      .filter((l) => l.startsWith("IPAddress"));
  };

  it("leaves the network open by default: no IPAddress lines at all", () => {
    expect(ipLines("any")).toEqual([]);
  });

  it("localhost denies everything else; a list adds its addresses to localhost", () => {
    expect(ipLines("localhost")).toEqual(["IPAddressDeny=any", "IPAddressAllow=localhost"]);
    expect(ipLines(["10.0.0.5", "fd00::/8"])).toEqual([
      "IPAddressDeny=any",
      "IPAddressAllow=localhost 10.0.0.5 fd00::/8",
    ]);
  });

  it("puts only the api's restriction into the api's template", () => {
    const { config, layout, web } = setup((c) => (c.services[0]!.network = "localhost"));
    const webUnit = renderTemplateUnit(config, layout, web, "demo").content.split("\n");
    expect(webUnit.filter((l) => l.startsWith("IPAddress"))).toEqual([]);
    const api = renderTemplateUnit(config, layout, config.services[0]!, "demo").content.split("\n");
    expect(api).toContain("IPAddressDeny=any");
  });

  it("says in words what a service may reach", () => {
    expect(describeNetwork("any")).toBe("any address");
    expect(describeNetwork("localhost")).toBe("localhost only");
    expect(describeNetwork(["10.0.0.5", "192.168.1.0/24"])).toBe("localhost and 10.0.0.5, 192.168.1.0/24");
  });
});

describe("renderColorDropIn", () => {
  it.each([
    ["api", "blue", "demo-api@blue.conf"],
    ["api", "green", "demo-api@green.conf"],
    ["web", "blue", "demo-web@blue.conf"],
    ["web", "green", "demo-web@green.conf"],
  ] as const)("renders %s on %s exactly", (name, color, expected) => {
    const { config, layout, api, web } = setup();
    const file = renderColorDropIn(config, layout, name === "api" ? api : web, color);
    expect(file.path).toBe(`/etc/systemd/system/demo-${name}@${color}.service.d/rf-agent.conf`);
    expect(file.mode).toBe(0o644);
    expect(file.content).toBe(fixture(expected));
  });

  it("resets ExecStart, then runs the program from this color's venv on this color's port", () => {
    const { config, layout, api } = setup();
    const lines = renderColorDropIn(config, layout, api, "green").content.split("\n");
    const execLines = lines.filter((l) => l.startsWith("ExecStart="));
    expect(execLines).toEqual([
      "ExecStart=",
      "ExecStart=/srv/demo/venvs/green/bin/uvicorn backend.main:app --host 127.0.0.1 --port 8001",
    ]);
    expect(lines).toContain(
      "Environment=RF_PORT=8001 VIRTUAL_ENV=/srv/demo/venvs/green PATH=/srv/demo/venvs/green/bin:/usr/local/bin:/usr/bin:/bin",
    );
    expect(lines.join("\n")).not.toContain("blue");
  });

  it("escapes systemd specifiers and quotes words with spaces in the command", () => {
    const { config, layout, api } = setup(
      (c) => (c.services[0]!.command = "/opt/bin/run --port {port} --fmt %H 'two words'"),
    );
    const execLine = renderColorDropIn(config, layout, api, "blue")
      .content.split("\n")
      .filter((l) => l.startsWith("ExecStart="))[1];
    expect(execLine).toBe('ExecStart=/opt/bin/run --port 8000 --fmt %%H "two words"');
  });

  it("doubles $ so systemd does not expand variables in the command", () => {
    const { config, layout, api } = setup((c) => (c.services[0]!.command = "/opt/bin/run {port} $HOME"));
    const execLine = renderColorDropIn(config, layout, api, "blue")
      .content.split("\n")
      .filter((l) => l.startsWith("ExecStart="))[1];
    expect(execLine).toBe('ExecStart=/opt/bin/run 8000 "$$HOME"');
  });
});

describe("renderColorDropIn with per-color env files", () => {
  it("names a color's env file in that color's drop-in only", () => {
    const { config, layout, api } = setup(
      (c) => (c.app.colorEnvFiles = { blue: null, green: "/etc/demo/green.env" }),
    );
    const green = renderColorDropIn(config, layout, api, "green").content.split("\n");
    const blue = renderColorDropIn(config, layout, api, "blue").content.split("\n");
    expect(green).toContain("EnvironmentFile=/etc/demo/green.env");
    expect(blue).toContain("# no env_file_blue configured");
    expect(blue.some((l) => l.startsWith("EnvironmentFile="))).toBe(false);
  });
});

describe("renderUnits", () => {
  it("gives each service its template and this color's drop-in, nothing of the other color", () => {
    const { config, layout } = setup();
    const files = renderUnits(config, layout, "blue", "demo");
    expect(files.map((f) => f.path)).toEqual([
      "/etc/systemd/system/demo-api@.service",
      "/etc/systemd/system/demo-api@blue.service.d/rf-agent.conf",
      "/etc/systemd/system/demo-web@.service",
      "/etc/systemd/system/demo-web@blue.service.d/rf-agent.conf",
    ]);
    expect(files[1]!.content).toBe(fixture("demo-api@blue.conf"));
    expect(files[3]!.content).toBe(fixture("demo-web@blue.conf"));
  });
});

describe("renderSite", () => {
  it("renders the nginx site exactly", () => {
    const { config, layout } = setup();
    const file = renderSite(config, layout);
    expect(file.path).toBe("/etc/nginx/sites-available/rf-agent-demo.conf");
    expect(file.mode).toBe(0o644);
    expect(file.content).toBe(fixture("rf-agent-demo.conf"));
  });

  it("declares both colors' upstreams of every service with their ports", () => {
    const { content } = renderSite(setup().config, setup().layout);
    for (const [name, port] of [
      ["rf_demo_api_blue", 8000],
      ["rf_demo_api_green", 8001],
      ["rf_demo_web_blue", 8501],
      ["rf_demo_web_green", 8502],
    ] as const) {
      expect(content).toContain(`upstream ${name} {\n    server 127.0.0.1:${port} max_fails=0;\n`);
    }
    expect(content).toContain("    include /etc/nginx/rf-agent/demo/live.conf;\n");
  });

  it("sends websocket headers only on the websocket route", () => {
    const { content } = renderSite(setup().config, setup().layout);
    const api = locationBlock(content, "/api/");
    const web = locationBlock(content, "/");
    expect(api).toContain("        proxy_pass http://rf_demo_api_$rf_live_pool;");
    expect(api).toContain('        proxy_set_header Connection "";');
    expect(api.some((l) => l.includes("Upgrade") || l.includes("proxy_read_timeout"))).toBe(false);
    expect(web).toContain("        proxy_pass http://rf_demo_web_$rf_live_pool;");
    expect(web).toContain("        proxy_set_header Upgrade $http_upgrade;");
    expect(web).toContain("        proxy_set_header Connection $rf_demo_connection_upgrade;");
    expect(web).not.toContain('        proxy_set_header Connection "";');
  });

  it("claims default_server (with deferred accept) only when server_name is _", () => {
    const underscore = renderSite(setup().config, setup().layout).content.split("\n");
    expect(underscore).toContain("    listen 80 default_server deferred;");
    expect(underscore).toContain("    server_name _;");

    const named = setup((c) => {
      c.nginx.serverName = "example.com www.example.com";
      c.nginx.listen = 8080;
    });
    const lines = renderSite(named.config, named.layout).content.split("\n");
    expect(lines).toContain("    listen 8080;");
    expect(lines).toContain("    server_name example.com www.example.com;");
    expect(lines.join("\n")).not.toMatch(/default_server|deferred/);
  });

  it("makes nginx identifiers of an app name with '-'", () => {
    const { config, layout } = setup((c) => (c.app.name = "rio-futuro"));
    const content = renderSite(config, layout).content;
    expect(layout.sitePath).toBe("/etc/nginx/sites-available/rf-agent-rio-futuro.conf");
    expect(content).toContain("map $http_upgrade $rf_rio_futuro_connection_upgrade {");
    expect(content).toContain("upstream rf_rio_futuro_api_blue {");
    expect(content).toContain("proxy_pass http://rf_rio_futuro_web_$rf_live_pool;");
    expect(content).toContain(`'{"app":"rio-futuro","color":"$rf_live_color","sha":"$rf_live_sha"}\\n'`);
    expect(content).not.toMatch(/rf_rio-futuro/);
  });
});

describe("preview server", () => {
  it("is off by default: one server block, no preview include", () => {
    const { config, layout } = setup();
    expect(previewEnabled(config)).toBe(false);
    const content = renderSite(config, layout).content;
    expect(content.match(/^server \{$/gm)).toHaveLength(1);
    expect(content).not.toContain("preview");
  });

  it("serves the same routes from the preview include on its own listen", () => {
    const { config, layout } = setup((c) => (c.nginx.previewListen = "127.0.0.1:8081"));
    expect(previewEnabled(config)).toBe(true);
    const content = renderSite(config, layout).content;
    const preview = content.slice(content.indexOf("# Preview:"));
    expect(content.match(/^server \{$/gm)).toHaveLength(2);
    expect(preview).toContain("    listen 127.0.0.1:8081;\n    server_name _;\n");
    expect(preview).toContain("    include /etc/nginx/rf-agent/demo/preview.conf;\n");
    expect(preview).toContain("    location /api/ {\n        proxy_pass http://rf_demo_api_$rf_live_pool;");
    expect(preview).toContain("    location / {\n        proxy_pass http://rf_demo_web_$rf_live_pool;");
    expect(preview).not.toContain("default_server");
  });

  it("with only a server name, listens on the main port", () => {
    const { config, layout } = setup((c) => (c.nginx.previewServerName = "preview.example.com"));
    const preview = renderSite(config, layout).content.split("# Preview:")[1] ?? "";
    expect(preview).toContain("    listen 80;\n    server_name preview.example.com;\n");
  });

  it("shows the idle color, and zeros for a slot with no checkout", () => {
    const { config, layout } = setup();
    const file = renderPreviewInclude(config, layout, "blue", null);
    expect(file.path).toBe("/etc/nginx/rf-agent/demo/preview.conf");
    expect(file.content.split("\n")).toContain("set $rf_live_color blue;");
    expect(file.content.split("\n")).toContain(`set $rf_live_sha ${"0".repeat(40)};`);
    expect(renderPreviewInclude(config, layout, "green", sha("c")).content).toContain(
      `set $rf_live_sha ${sha("c")};`,
    );
  });
});

describe("renderSite with [tls]", () => {
  const files = (c: Config) => {
    c.tls = { ...c.tls, mode: "files", cert: "/etc/ssl/demo.pem", key: "/etc/ssl/demo.key" };
  };
  const certbot = (c: Config) => {
    c.nginx.serverName = "app.example.com";
    c.tls = { ...c.tls, mode: "certbot" };
  };
  /** The server blocks of a site, in order, each as its text. */
  const servers = (site: string) => site.split(/^(?=server \{)/m).slice(1);

  it("serves HTTPS only with tls on, and certbot's certificate only once it exists", () => {
    expect(siteHttps(testConfig(), true)).toBe("off");
    expect(siteHttps(testConfig(files), false)).toBe("on");
    expect(siteHttps(testConfig(certbot), false)).toBe("pending");
    expect(siteHttps(testConfig(certbot), true)).toBe("on");
  });

  it("renders each mode exactly", () => {
    for (const name of [
      "rf-agent-demo.conf.tls-files",
      "rf-agent-demo.conf.certbot-pending",
      "rf-agent-demo.conf.certbot",
    ]) {
      expect(RENDERED[name]!().content).toBe(fixture(name));
    }
  });

  it("with tls off has no certificate, no ACME path and one server", () => {
    const { content } = renderSite(setup().config, setup().layout);
    expect(content).not.toMatch(/ssl|acme-challenge|return 301/);
    expect(servers(content)).toHaveLength(1);
  });

  it("keeps port 80 for the ACME path, rf-agent's loopback check and a redirect, the rest on 443", () => {
    const { config, layout } = setup(files);
    const [tls, http] = servers(renderSite(config, layout).content);
    expect(tls).toMatch(/^ {4}listen 443 ssl http2 default_server deferred;$/m);
    expect(tls).toMatch(/^ {4}ssl_certificate \/etc\/ssl\/demo\.pem;$/m);
    expect(tls).toMatch(/^ {4}ssl_certificate_key \/etc\/ssl\/demo\.key;$/m);
    expect(tls).not.toContain("Strict-Transport-Security");
    // websockets (wss://) go through the same locations over TLS
    expect(locationBlock(tls!, "/")).toContain("        proxy_set_header Upgrade $http_upgrade;");
    expect(http).toMatch(/^ {4}listen 80 default_server deferred;$/m);
    expect(http).toContain("location ^~ /.well-known/acme-challenge/ {");
    expect(http).toContain("        root /var/lib/rf-agent-acme;");
    expect(http).toContain("location = /__rf-agent/live {");
    expect(http).toContain("        return 301 https://$host$request_uri;");
    expect(http).not.toContain("proxy_pass");
  });

  it("uses `http2 on;` on an nginx that has it (>= 1.25.1) instead of the deprecated listen form", () => {
    const { config, layout } = setup(files);
    const [tls] = servers(renderSite(config, layout, "on", { http2Directive: true }).content);
    expect(tls).toMatch(/^ {4}listen 443 ssl default_server deferred;$/m);
    expect(tls).toMatch(/^ {4}http2 on;$/m);
    expect(tls).not.toMatch(/listen .*http2/);
  });

  it("sends HSTS only when asked, and redirects to a port other than 443 by number", () => {
    const { config, layout } = setup((c) => {
      files(c);
      c.tls.hstsSec = 600;
      c.tls.listen = 8443;
    });
    const [tls, http] = servers(renderSite(config, layout).content);
    expect(tls).toContain('    add_header Strict-Transport-Security "max-age=600" always;');
    expect(http).toContain("        return 301 https://$host:8443$request_uri;");
  });

  it("before certbot's certificate exists: plain HTTP with the ACME path, nothing redirected", () => {
    const { config, layout } = setup(certbot);
    const content = renderSite(config, layout, "pending").content;
    expect(servers(content)).toHaveLength(1);
    expect(content).toMatch(/^ {4}listen 80;$/m);
    expect(content).toContain("location ^~ /.well-known/acme-challenge/ {");
    expect(content).not.toMatch(/ssl|return 301/);
  });

  it("keeps the preview server on plain HTTP where it listens", () => {
    const { config, layout } = setup((c) => {
      certbot(c);
      c.nginx.previewListen = "127.0.0.1:8081";
    });
    const preview = renderSite(config, layout, "on").content.split("# Preview:")[1] ?? "";
    expect(preview).toMatch(/^ {4}listen 127\.0\.0\.1:8081;$/m);
    expect(preview).not.toContain("ssl");
  });
});

describe("renderLiveInclude / parseLiveInclude", () => {
  it("renders the include exactly", () => {
    const { config, layout } = setup();
    const file = renderLiveInclude(config, layout, "green", sha("a"));
    expect(file.path).toBe("/etc/nginx/rf-agent/demo/live.conf");
    expect(file.mode).toBe(0o644);
    expect(file.content).toBe(fixture("live.conf"));
  });

  it.each(["blue", "green"] as const)("reads back what it wrote for %s", (color) => {
    const { config, layout } = setup();
    const commit = "0123456789abcdef0123456789abcdef01234567";
    expect(parseLiveInclude(renderLiveInclude(config, layout, color, commit).content)).toEqual({
      color,
      sha: commit,
      fallback: false,
    });
    const withFallback = renderLiveInclude(config, layout, color, commit, true).content;
    expect(withFallback).toContain(`set $rf_live_pool ${color}_fallback;`);
    expect(parseLiveInclude(withFallback)).toEqual({ color, sha: commit, fallback: true });
  });

  it("includes the operator's snippets: one inside the server block, one at http level", () => {
    const { config, layout } = setup();
    config.nginx.include = "/etc/nginx/rf-agent-local/site.conf";
    config.nginx.httpInclude = "/etc/nginx/rf-agent-local/http.conf";
    const lines = renderSite(config, layout).content.split("\n");
    const http = lines.indexOf("include /etc/nginx/rf-agent-local/http.conf;");
    const inServer = lines.indexOf("    include /etc/nginx/rf-agent-local/site.conf;");
    expect(http).toBeGreaterThan(0);
    expect(http).toBeLessThan(lines.indexOf("server {"));
    // inside the server block, after our locations, before its closing brace
    expect(inServer).toBeGreaterThan(lines.lastIndexOf("    location / {"));
    expect(lines[inServer + 1]).toBe("}");
  });

  it("renders for each color an upstream with the other color as a backup", () => {
    const { config, layout } = setup();
    const site = renderSite(config, layout).content;
    expect(site).toContain(
      [
        "upstream rf_demo_api_blue_fallback {",
        "    server 127.0.0.1:8000 max_fails=0;",
        "    server 127.0.0.1:8001 backup max_fails=0;",
      ].join("\n"),
    );
    expect(site).toContain(
      [
        "upstream rf_demo_web_green_fallback {",
        "    server 127.0.0.1:8502 max_fails=0;",
        "    server 127.0.0.1:8501 backup max_fails=0;",
      ].join("\n"),
    );
  });

  const good = fixture("live.conf");
  it.each([
    ["empty text", ""],
    ["no color line", good.replace(/^set \$rf_live_color.*\n/m, "")],
    ["no sha line", good.replace(/^set \$rf_live_sha.*\n/m, "")],
    ["an unknown color", good.replace("green;", "red;")],
    ["a short sha", good.replace("a".repeat(40), "a".repeat(39))],
    ["an upper-case sha", good.replace("a".repeat(40), "A".repeat(40))],
    ["a missing semicolon", good.replace("green;", "green")],
    ["commented-out lines", good.replace(/^set/gm, "# set")],
    ["a truncated file", good.slice(0, good.indexOf("set $rf_live_sha") + 20)],
  ])("rejects %s", (_, text) => {
    expect(parseLiveInclude(text)).toBeNull();
  });
});

describe("an armed switch in the live include", () => {
  const armed = {
    to: { color: "green" as const, sha: sha("b"), fallback: true },
    token: "0123456789abcdef",
    flag: "/etc/nginx/rf-agent/demo/armed/0123456789abcdef",
  };

  it("is rendered as its fixture and read back; the route without the flag is the plain one", () => {
    const { config, layout } = setup();
    const file = renderLiveInclude(config, layout, "blue", sha("a"), true, armed);
    expect(file.content).toBe(fixture("live.conf.armed"));
    expect(parseArmedSwitch(file.content)).toEqual(armed);
    expect(parseLiveInclude(file.content)).toEqual({ color: "blue", sha: sha("a"), fallback: true });
    expect(parseArmedSwitch(renderLiveInclude(config, layout, "blue", sha("a")).content)).toBeNull();
  });

  it("is not read from a damaged block: a pool of the other color, a relative flag, a short sha", () => {
    const { config, layout } = setup();
    const text = renderLiveInclude(config, layout, "blue", sha("a"), false, armed).content;
    expect(
      parseArmedSwitch(text.replace("set $rf_live_pool green_fallback", "set $rf_live_pool blue")),
    ).toBeNull();
    expect(parseArmedSwitch(text.replace("if (-f /etc/nginx/", "if (-f etc/nginx/"))).toBeNull();
    expect(
      parseArmedSwitch(text.replace(`    set $rf_live_sha ${sha("b")}`, "    set $rf_live_sha abc")),
    ).toBeNull();
  });
});
