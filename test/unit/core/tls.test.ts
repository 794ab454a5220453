import { describe, expect, it } from "vitest";
import { ACME_WEBROOT, certbotArgs, certDomains, certificatePaths, certName } from "../../../src/core/tls.js";
import { testConfig } from "../helpers/config.js";

const certbot = (patch: Partial<ReturnType<typeof testConfig>["tls"]> = {}) =>
  testConfig((c) => {
    c.nginx.serverName = "app.example.com www.app.example.com";
    c.tls = { ...c.tls, mode: "certbot", ...patch };
  });

describe("certificatePaths", () => {
  it("has none with tls off", () => {
    expect(certificatePaths(testConfig())).toBeNull();
  });

  it("is the operator's files with mode = files", () => {
    const config = testConfig((c) => {
      c.tls = { ...c.tls, mode: "files", cert: "/etc/ssl/a.pem", key: "/etc/ssl/a.key" };
    });
    expect(certificatePaths(config)).toEqual({ cert: "/etc/ssl/a.pem", key: "/etc/ssl/a.key" });
  });

  it("is certbot's lineage named after the app, whatever the domains", () => {
    const config = certbot();
    expect(certName(config)).toBe("rf-agent-demo");
    expect(certificatePaths(config)).toEqual({
      cert: "/etc/letsencrypt/live/rf-agent-demo/fullchain.pem",
      key: "/etc/letsencrypt/live/rf-agent-demo/privkey.pem",
    });
  });
});

describe("certbotArgs", () => {
  it("asks for every server name over the webroot, non-interactively, with the reload hook", () => {
    const config = certbot({ email: "ops@example.com", acmeServer: "https://127.0.0.1:14000/dir" });
    expect(certDomains(config)).toEqual(["app.example.com", "www.app.example.com"]);
    expect(certbotArgs(config)).toEqual([
      "certonly",
      "--webroot",
      `--webroot-path=${ACME_WEBROOT}`,
      "--cert-name=rf-agent-demo",
      "--domains=app.example.com",
      "--domains=www.app.example.com",
      "--non-interactive",
      "--agree-tos",
      "--email=ops@example.com",
      "--server=https://127.0.0.1:14000/dir",
      "--deploy-hook=systemctl reload nginx",
    ]);
  });

  it("registers without an email when none is set, against Let's Encrypt by default", () => {
    const args = certbotArgs(certbot());
    expect(args).toContain("--register-unsafely-without-email");
    expect(args).toContain("--server=https://acme-v02.api.letsencrypt.org/directory");
    expect(args.some((a) => a.startsWith("--email"))).toBe(false);
  });
});
