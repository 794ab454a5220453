// Which certificate the site can serve right now, and whether certbot must be asked for one.
import { readCertificate, uncovered } from "../adapters/tls.js";
import type { Config } from "../config/types.js";
import { siteHttps, type SiteHttps } from "../core/render.js";
import { certDomains, certificatePaths } from "../core/tls.js";

export interface SiteCertificate {
  https: SiteHttps;
  /** certbot must run: no certificate yet, or one that misses a name of server_name. */
  issue: boolean;
  /** Names the current certificate lacks (all of them when there is none). */
  missing: string[];
}

export async function siteCertificate(config: Config): Promise<SiteCertificate> {
  const paths = certificatePaths(config);
  if (config.tls.mode !== "certbot" || !paths) {
    return { https: siteHttps(config, true), issue: false, missing: [] };
  }
  const info = await readCertificate(paths.cert);
  // A certificate that lacks a new name still serves the others while certbot expands it.
  const missing = info ? uncovered(info, certDomains(config)) : certDomains(config);
  return { https: siteHttps(config, info !== null), issue: missing.length > 0, missing };
}
