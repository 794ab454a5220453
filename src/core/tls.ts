// Where the site's certificate lives and what certbot is asked to do: pure, from the config alone.
import type { Config } from "../config/types.js";

/**
 * certbot's HTTP-01 answers (certonly --webroot): port 80 serves /.well-known/acme-challenge/ from
 * here, so issuing and renewing never edit the nginx site. Root-owned, readable by nginx, shared by
 * every app on the host (tokens are unique); outside /var/lib/rf-agent, which is 0700.
 */
export const ACME_WEBROOT = "/var/lib/rf-agent-acme";

/** certbot's lineage name: /etc/letsencrypt/live/NAME/ stays put whatever the domains are. */
export function certName(config: Config): string {
  return `rf-agent-${config.app.name}`;
}

/** The names the certificate must cover: every name of [nginx] server_name. */
export function certDomains(config: Config): string[] {
  return config.nginx.serverName.split(/\s+/).filter(Boolean);
}

/** The chain and key nginx serves; null with mode = off. */
export function certificatePaths(config: Config): { cert: string; key: string } | null {
  const { tls } = config;
  if (tls.mode === "files" && tls.cert && tls.key) return { cert: tls.cert, key: tls.key };
  if (tls.mode === "certbot") {
    const dir = `/etc/letsencrypt/live/${certName(config)}`;
    return { cert: `${dir}/fullchain.pem`, key: `${dir}/privkey.pem` };
  }
  return null;
}

/** Reloads nginx after each renewal by certbot's timer; stored in certbot's renewal config. */
export const DEPLOY_HOOK = "systemctl reload nginx";

/** `certbot certonly` for this app; run by root with the webroot already served on port 80. */
export function certbotArgs(config: Config): string[] {
  const { email, acmeServer } = config.tls;
  return [
    "certonly",
    "--webroot",
    `--webroot-path=${ACME_WEBROOT}`,
    `--cert-name=${certName(config)}`,
    ...certDomains(config).map((d) => `--domains=${d}`),
    "--non-interactive",
    "--agree-tos",
    // --email=VALUE, never two words: a value starting with - must not read as an option.
    email ? `--email=${email}` : "--register-unsafely-without-email",
    `--server=${acmeServer}`,
    `--deploy-hook=${DEPLOY_HOOK}`,
  ];
}
