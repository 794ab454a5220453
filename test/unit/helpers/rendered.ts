// The files of test/fixtures/rendered/ and how each is rendered. render.test.ts compares them byte
// for byte; after an intended change of a template, `npx tsx test/unit/helpers/update-rendered.ts`
// writes them again - then read the diff line by line before keeping it.
import { readFileSync } from "node:fs";
import type { Config } from "../../../src/config/types.js";
import { layoutFor } from "../../../src/core/layout.js";
import {
  renderColorDropIn,
  renderLiveInclude,
  renderSite,
  renderTemplateUnit,
  type RenderedFile,
} from "../../../src/core/render.js";
import { sha, testConfig } from "./config.js";

export const RENDERED_DIR = new URL("../../fixtures/rendered/", import.meta.url);

function withDefaults<T>(
  fn: (config: Config, layout: ReturnType<typeof layoutFor>) => T,
  patch?: (c: Config) => void,
) {
  const config = testConfig(patch);
  return fn(config, layoutFor(config));
}

const service = (config: Config, name: string) => {
  const s = config.services.find((x) => x.name === name);
  if (!s) throw new Error(`no service ${name}`);
  return s;
};

/** Fixture file name -> the RenderedFile it must equal. */
export const RENDERED: Record<string, () => RenderedFile> = {
  "demo-api@.service": () => withDefaults((c, l) => renderTemplateUnit(c, l, service(c, "api"), "demo")),
  "demo-web@.service": () => withDefaults((c, l) => renderTemplateUnit(c, l, service(c, "web"), "demo")),
  // env_file set, another group, and a grace that changes TimeoutStopSec.
  "demo-api@.service.env-file": () =>
    withDefaults(
      (c, l) => renderTemplateUnit(c, l, service(c, "api"), "www-data"),
      (c) => {
        c.app.envFile = "/etc/demo/env";
        c.switch.graceSec = 12.5;
      },
    ),
  // network = localhost: only loopback; a CIDR list: loopback plus those.
  "demo-api@.service.network-localhost": () =>
    withDefaults(
      (c, l) => renderTemplateUnit(c, l, service(c, "api"), "demo"),
      (c) => (service(c, "api").network = "localhost"),
    ),
  "demo-api@.service.network-cidrs": () =>
    withDefaults(
      (c, l) => renderTemplateUnit(c, l, service(c, "api"), "demo"),
      (c) => (service(c, "api").network = ["10.20.0.5", "192.168.10.0/24", "fd00::/8"]),
    ),
  "demo-api@blue.conf": () => withDefaults((c, l) => renderColorDropIn(c, l, service(c, "api"), "blue")),
  "demo-api@green.conf": () => withDefaults((c, l) => renderColorDropIn(c, l, service(c, "api"), "green")),
  "demo-web@blue.conf": () => withDefaults((c, l) => renderColorDropIn(c, l, service(c, "web"), "blue")),
  "demo-web@green.conf": () => withDefaults((c, l) => renderColorDropIn(c, l, service(c, "web"), "green")),
  // A per-color env file for blue only.
  "demo-api@blue.conf.env-file": () =>
    withDefaults(
      (c, l) => renderColorDropIn(c, l, service(c, "api"), "blue"),
      (c) => (c.app.colorEnvFiles = { blue: "/etc/demo/blue.env", green: null }),
    ),
  "rf-agent-demo.conf": () => withDefaults((c, l) => renderSite(c, l)),
  // A named server, on another port, with a preview server for the idle color.
  "rf-agent-demo.conf.preview": () =>
    withDefaults(
      (c, l) => renderSite(c, l),
      (c) => {
        c.nginx.listen = 8080;
        c.nginx.serverName = "app.example.com www.app.example.com";
        c.nginx.previewListen = "127.0.0.1:8081";
      },
    ),
  // HTTPS with the operator's certificate, on another port, with HSTS.
  "rf-agent-demo.conf.tls-files": () =>
    withDefaults(
      (c, l) => renderSite(c, l),
      (c) => {
        c.tls = {
          ...c.tls,
          mode: "files",
          listen: 8443,
          cert: "/etc/ssl/certs/demo.pem",
          key: "/etc/ssl/private/demo.key",
          hstsSec: 31536000,
        };
      },
    ),
  // certbot before its certificate exists: plain HTTP plus the ACME path, nothing redirected.
  "rf-agent-demo.conf.certbot-pending": () =>
    withDefaults(
      (c, l) => renderSite(c, l, "pending"),
      (c) => {
        c.nginx.serverName = "app.example.com";
        c.tls = { ...c.tls, mode: "certbot", email: "ops@example.com" };
      },
    ),
  // certbot with its certificate, a named server and the preview on loopback.
  "rf-agent-demo.conf.certbot": () =>
    withDefaults(
      (c, l) => renderSite(c, l, "on"),
      (c) => {
        c.nginx.serverName = "app.example.com www.app.example.com";
        c.nginx.previewListen = "127.0.0.1:8081";
        c.tls = { ...c.tls, mode: "certbot", email: "ops@example.com" };
      },
    ),
  "live.conf": () => withDefaults((c, l) => renderLiveInclude(c, l, "green", sha("a"))),
  // blue serves, falling back to green; the switch to blue's next commit is armed.
  "live.conf.armed": () =>
    withDefaults((c, l) =>
      renderLiveInclude(c, l, "blue", sha("a"), true, {
        to: { color: "green", sha: sha("b"), fallback: true },
        token: "0123456789abcdef",
        flag: `${l.armedFlagsDir}/0123456789abcdef`,
      }),
    ),
};

export function readRendered(name: string): string {
  return readFileSync(new URL(name, RENDERED_DIR), "utf8");
}
