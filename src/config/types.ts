// The validated, normalized configuration every other module works from.

export const COLORS = ["blue", "green"] as const;
export type Color = (typeof COLORS)[number];

export const WEBHOOK_PROVIDERS = ["github", "gitlab"] as const;
export type WebhookProvider = (typeof WEBHOOK_PROVIDERS)[number];

export const TLS_MODES = ["off", "files", "certbot"] as const;
/** off: plain HTTP; files: a certificate the operator provides; certbot: Let's Encrypt (or another ACME CA). */
export type TlsMode = (typeof TLS_MODES)[number];

export interface ServiceConfig {
  /** From the section name: [service.api] -> "api". */
  name: string;
  /** Command line with {port} still in it; the first word is resolved against the slot's venv/bin. */
  command: string;
  ports: Record<Color, number>;
  /** Path answered with 2xx when healthy, e.g. /health. */
  health: string;
  /** nginx location prefix that proxies to this service, e.g. /api/ or /. */
  route: string;
  websocket: boolean;
  /** What it may reach over IP: anything, only localhost, or localhost plus these addresses/CIDRs. */
  network: NetworkAccess;
}

export type NetworkAccess = "any" | "localhost" | string[];

export interface Config {
  /** Where it was read from, for messages. */
  source: string;
  app: {
    name: string;
    repo: string;
    branch: string;
    root: string;
    /** The services' only writable directory, shared by both colors (default /var/lib/NAME). */
    dataDir: string;
    user: string;
    python: string;
    requirements: string;
    pipArgs: string[];
    envFile: string | null;
    /** Per-color EnvironmentFile read after envFile, so its values win. */
    colorEnvFiles: Record<Color, string | null>;
    /** Variables that must be set (and not placeholders) before anything starts. */
    requiredEnv: string[];
    /** Minimum length of a required variable whose name says it is a secret. */
    secretMinLength: number;
  };
  services: ServiceConfig[];
  health: {
    timeoutSec: number;
    intervalSec: number;
    /** A service passes once it answered 2xx without a failure for this long (and `successes` times). */
    stableSec: number;
    successes: number;
  };
  nginx: {
    listen: number;
    serverName: string;
    /** Serves the idle color with the same routes ("" = off): PORT or IP:PORT. */
    previewListen: string;
    previewServerName: string;
    /** The operator's snippet included inside rf-agent's server block (the HTTPS one with TLS on). */
    include: string | null;
    /** The operator's snippet included at http level, before rf-agent's server block. */
    httpInclude: string | null;
  };
  tls: {
    mode: TlsMode;
    /** Port of the HTTPS server; [nginx] listen then only answers ACME challenges and redirects. */
    listen: number;
    /** PEM certificate chain and key (mode files); null otherwise. */
    cert: string | null;
    key: string | null;
    /** ACME account email ("" = none). */
    email: string;
    /** ACME directory URL: Let's Encrypt production by default, or staging, or a private CA. */
    acmeServer: string;
    /** Strict-Transport-Security max-age in seconds; 0 = no header. */
    hstsSec: number;
  };
  hooks: {
    preSwitch: string;
    postSwitch: string;
    postRollback: string;
    timeoutSec: number;
  };
  notify: { url: string; timeoutSec: number };
  metrics: { textfile: string | null };
  trigger: {
    /** OnCalendar expression of the deploy timer; null = no timer. */
    schedule: string | null;
  };
  webhook: {
    /** Where `rf-agent webhook` listens (host without brackets). */
    listen: { host: string; port: number };
    /** The shared secret (0600); the listener gets a copy through LoadCredential=. */
    secretFile: string;
    provider: WebhookProvider;
  };
  switch: {
    /** Seconds to let in-flight requests on nginx's old workers finish before stopping the old color. */
    graceSec: number;
    /** Max seconds to wait for long-lived (websocket) connections to the old color to end. */
    drainSec: number;
    /** Seconds the previous color stays running (not serving) for an instant rollback; 0 = off. */
    standbySec: number;
    /** Seconds to keep checking the new color after the flip; failure switches back. 0 = off. */
    watchSec: number;
  };
}
