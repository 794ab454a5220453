// Pure rendering of every file rf-agent installs: systemd units and the nginx site.
import type { Color, Config, NetworkAccess, ServiceConfig } from "../config/types.js";
import { COLORS } from "../config/types.js";
import { execStart, serviceArgv } from "./command-line.js";
import { other, type Layout } from "./layout.js";
import { fill, readTemplate } from "./template.js";
import { ACME_WEBROOT, certificatePaths } from "./tls.js";

export interface RenderedFile {
  path: string;
  content: string;
  mode: number;
}

export function renderTemplateUnit(
  config: Config,
  layout: Layout,
  service: ServiceConfig,
  group: string,
): RenderedFile {
  const stopTimeout = Math.max(20, Math.ceil(config.switch.graceSec) + 15);
  return {
    path: layout.templatePath(service),
    mode: 0o644,
    content: fill(readTemplate("units/service@.service"), {
      app: config.app.name,
      service: service.name,
      user: config.app.user,
      group,
      root: config.app.root,
      envFileLine: config.app.envFile ? `EnvironmentFile=${config.app.envFile}` : "# no env_file configured",
      stopTimeout,
      dataDir: config.app.dataDir,
      dataDirLines: dataDirLines(config.app.dataDir),
      networkLines: networkLines(service.network),
    }),
  };
}

// [service.NAME] network: systemd's cgroup firewall; localhost stays reachable whenever it restricts.
function networkLines(network: NetworkAccess): string {
  if (network === "any") return "# network = any: no IPAddressDeny=, the service may reach any address";
  const allow = network === "localhost" ? "localhost" : ["localhost", ...network].join(" ");
  return `IPAddressDeny=any\nIPAddressAllow=${allow}`;
}

/** What a service may reach, in words: for doctor. */
export function describeNetwork(network: NetworkAccess): string {
  if (network === "any") return "any address";
  if (network === "localhost") return "localhost only";
  return `localhost and ${network.join(", ")}`;
}

// Under /var/lib systemd makes the directory and hands it to the user (StateDirectory=); elsewhere
// rf-agent makes it and the unit only opens it for writing.
function dataDirLines(dataDir: string): string {
  const rel = dataDir.startsWith("/var/lib/") ? dataDir.slice("/var/lib/".length) : null;
  return rel ? `StateDirectory=${rel}\nStateDirectoryMode=0750` : `ReadWritePaths=${dataDir}`;
}

export function renderColorDropIn(
  config: Config,
  layout: Layout,
  service: ServiceConfig,
  color: Color,
): RenderedFile {
  const venv = layout.venv(color);
  const port = service.ports[color];
  return {
    path: layout.dropInPath(service, color),
    mode: 0o644,
    content: fill(readTemplate("units/color.conf"), {
      app: config.app.name,
      service: service.name,
      color,

      port,
      venv,
      execStart: execStart(serviceArgv(service.command, port, venv)),
      colorEnvFileLine: config.app.colorEnvFiles[color]
        ? `EnvironmentFile=${config.app.colorEnvFiles[color]}`
        : `# no env_file_${color} configured`,
    }),
  };
}

/** Every unit file one color needs: the shared templates plus this color's drop-ins. */
export function renderUnits(config: Config, layout: Layout, color: Color, group: string): RenderedFile[] {
  return config.services.flatMap((s) => [
    renderTemplateUnit(config, layout, s, group),
    renderColorDropIn(config, layout, s, color),
  ]);
}

/**
 * What the site serves: plain HTTP (tls off); HTTP plus the ACME path while certbot has no
 * certificate yet ("pending"); or HTTPS, with port [nginx] listen left to ACME and a redirect.
 */
export type SiteHttps = "off" | "pending" | "on";

/** off with tls off; with certbot, on only once its certificate exists (`haveCertificate`). */
export function siteHttps(config: Config, haveCertificate: boolean): SiteHttps {
  if (config.tls.mode === "off") return "off";
  if (config.tls.mode === "certbot" && !haveCertificate) return "pending";
  return "on";
}

/** What the installed nginx understands, where versions differ. */
export interface NginxFeatures {
  /** `http2 on;` (nginx >= 1.25.1), which deprecates `listen ... http2`. */
  http2Directive: boolean;
}

export function renderSite(
  config: Config,
  layout: Layout,
  https: SiteHttps = siteHttps(config, true),
  nginx: NginxFeatures = { http2Directive: false },
): RenderedFile {
  const id = layout.nginxId;
  const upstreams = config.services
    .flatMap((s) =>
      COLORS.map((color) =>
        fill(readTemplate("nginx/upstream.conf"), {
          id,
          service: s.name,
          color,
          port: s.ports[color],
          other: other(color),
          otherPort: s.ports[other(color)],
        }),
      ),
    )
    .join("");
  const locations = config.services
    .map((s) =>
      fill(readTemplate("nginx/location.conf"), {
        id,
        service: s.name,
        route: s.route,
        connection: s.websocket
          ? [
              "        proxy_set_header Upgrade $http_upgrade;",
              `        proxy_set_header Connection $${id}_connection_upgrade;`,
              "        # Streamlit keeps one websocket per browser tab open for as long as the tab.",
              "        proxy_read_timeout 1d;",
              "        proxy_send_timeout 1d;",
              "        proxy_buffering off;",
              "",
            ].join("\n")
          : '        proxy_set_header Connection "";\n',
      }),
    )
    .join("");
  const serverName = config.nginx.serverName;
  const { previewListen, previewServerName } = config.nginx;
  // The preview stays plain HTTP where it listens: a tool for the operator, often on loopback, and
  // its own name would need a certificate of its own.
  const preview =
    previewListen || previewServerName
      ? fill(readTemplate("nginx/preview.conf"), {
          app: config.app.name,
          previewListen: previewListen || config.nginx.listen,
          previewServerName: previewServerName || "_",
          previewInclude: layout.previewIncludePath,
          locations,
        })
      : "";
  // deferred (TCP_DEFER_ACCEPT): a worker accepts a connection only with its request in hand, so
  // an old worker told to quit by the switch's reload never holds a fresh, still-empty connection,
  // which it would close unanswered (measured: ~1 failed request in 20 switches without it).
  // Socket options may appear once per port, so only the port's default server sets it.
  const defaultServer = serverName === "_" ? " default_server deferred" : "";
  const acme = fill(readTemplate("nginx/acme.conf"), { webroot: ACME_WEBROOT });
  const paths = certificatePaths(config);
  const tls =
    https === "on" && paths
      ? "\n" +
        fill(readTemplate("nginx/tls.conf"), {
          id,
          http2: nginx.http2Directive ? "    http2 on;\n" : "",
          cert: paths.cert,
          key: paths.key,
          hsts: config.tls.hstsSec
            ? `    add_header Strict-Transport-Security "max-age=${config.tls.hstsSec}" always;`
            : "",
        }).trimEnd()
      : "";
  const tlsPort = config.tls.listen;
  const http =
    tls === ""
      ? ""
      : fill(readTemplate("nginx/http-redirect.conf"), {
          app: config.app.name,
          listen: config.nginx.listen,
          defaultServer,
          serverName,
          liveInclude: layout.liveIncludePath,
          acme,
          httpsPort: tlsPort === 443 ? "" : `:${tlsPort}`,
        });
  return {
    path: layout.sitePath,
    mode: 0o644,
    content: fill(readTemplate("nginx/site.conf"), {
      app: config.app.name,
      id,
      upstreams,
      locations,
      // `listen ... ssl http2` where `http2 on;` is unknown (before nginx 1.25.1: Debian 12 ships 1.22);
      // later versions warn that the listen form is deprecated, so they get the directive.
      listen: tls === "" ? config.nginx.listen : `${tlsPort} ssl${nginx.http2Directive ? "" : " http2"}`,
      defaultServer,
      serverName,
      tls,
      acme: https === "pending" ? acme : "",
      http,
      liveInclude: layout.liveIncludePath,
      preview,
      // The operator's own settings, validated by `nginx -t` with ours before any reload.
      httpInclude: config.nginx.httpInclude
        ? `\n# [nginx] http_include: the operator's own http-level settings\ninclude ${config.nginx.httpInclude};\n`
        : "",
      serverInclude: config.nginx.include
        ? `\n    # [nginx] include: the operator's own settings for this site\n    include ${config.nginx.include};\n`
        : "",
    }),
  };
}

/** Where nginx routes: a color, its commit, and whether it falls back to the other color. */
export interface LiveRoute {
  color: Color;
  sha: string;
  fallback: boolean;
}

/**
 * A switch rendered ahead of time: nginx serves `to` as soon as the file `flag` exists, with no
 * reload on the switch's critical path. `token` names the flag and is what nginx answers on
 * /__rf-agent/armed while it runs this configuration.
 */
export interface ArmedSwitch {
  to: LiveRoute;
  token: string;
  flag: string;
}

const pool = (color: Color, fallback: boolean) => (fallback ? `${color}_fallback` : color);

/**
 * The live color; with `fallback`, nginx sends what cannot reach it to the other color (while the
 * color it took over from still runs: the watch, the drain, a warm standby). With `armed`, the
 * switch to another color waits on its flag file (ops/armed-switch.ts).
 */
export function renderLiveInclude(
  config: Config,
  layout: Layout,
  color: Color,
  sha: string,
  fallback = false,
  armed?: ArmedSwitch,
): RenderedFile {
  return {
    path: layout.liveIncludePath,
    mode: 0o644,
    content: fill(readTemplate("nginx/live.conf"), {
      app: config.app.name,
      color,
      sha,
      pool: pool(color, fallback),
      armed: armed
        ? fill(readTemplate("nginx/live-armed.conf"), {
            color: armed.to.color,
            sha: armed.to.sha,
            pool: pool(armed.to.color, armed.to.fallback),
            flag: armed.flag,
          })
        : "",
      token: armed?.token ?? "-",
    }),
  };
}

export function previewEnabled(config: Config): boolean {
  return Boolean(config.nginx.previewListen || config.nginx.previewServerName);
}

/** The preview server shows the idle color; sha is what its checkout holds (zeros when empty). */
export function renderPreviewInclude(
  config: Config,
  layout: Layout,
  color: Color,
  sha: string | null,
): RenderedFile {
  return {
    path: layout.previewIncludePath,
    mode: 0o644,
    content: fill(readTemplate("nginx/preview-include.conf"), {
      app: config.app.name,
      color,
      sha: sha ?? "0".repeat(40),
    }),
  };
}

/**
 * Reads back what renderLiveInclude wrote: the route nginx takes without an armed switch's flag;
 * null when the file is not ours or is damaged.
 */
export function parseLiveInclude(text: string): LiveRoute | null {
  const color = /^set \$rf_live_color (blue|green);$/m.exec(text)?.[1] as Color | undefined;
  const sha = /^set \$rf_live_sha ([0-9a-f]{40});$/m.exec(text)?.[1];
  const fallback = /^set \$rf_live_pool (?:blue|green)_fallback;$/m.test(text);
  return color && sha ? { color, sha, fallback } : null;
}

/** An armed switch's flag: 16 hex digits, named in the include and answered by nginx. */
export const ARMED_TOKEN = /^[0-9a-f]{16}$/;

/** The armed switch a live include holds, or null (a plain include). */
export function parseArmedSwitch(text: string): ArmedSwitch | null {
  const m =
    /^if \(-f (\/\S+\/([0-9a-f]{16}))\) \{\n {4}set \$rf_live_color (blue|green);\n {4}set \$rf_live_sha ([0-9a-f]{40});\n {4}set \$rf_live_pool (blue|green)(_fallback)?;\n\}$/m.exec(
      text,
    );
  if (!m || m[5] !== m[3]) return null;
  return {
    flag: m[1]!,
    token: m[2]!,
    to: { color: m[3] as Color, sha: m[4]!, fallback: m[6] !== undefined },
  };
}
