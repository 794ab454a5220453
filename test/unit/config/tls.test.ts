import { describe, expect, it } from "vitest";
import { parseConfig } from "../../../src/config/load.js";
import { MINIMAL, SOURCE, problemsOf } from "./helpers.js";

const withTls = (...lines: string[]) => `${MINIMAL}[tls]\n${lines.join("\n")}\n`;
const named = (name: string, ...tls: string[]) =>
  `${MINIMAL}[nginx]\nserver_name = ${name}\n[tls]\n${tls.join("\n")}\n`;

describe("[tls]", () => {
  it("is off by default, with Let's Encrypt production as the ACME server", () => {
    expect(parseConfig(MINIMAL, SOURCE).tls).toEqual({
      mode: "off",
      listen: 443,
      cert: null,
      key: null,
      email: "",
      acmeServer: "https://acme-v02.api.letsencrypt.org/directory",
      hstsSec: 0,
    });
  });

  it("reads mode = files with its certificate, key, port and HSTS", () => {
    const tls = parseConfig(
      withTls(
        "mode = files",
        "cert = /etc/ssl/app.pem",
        "key = /etc/ssl/app.key",
        "listen = 8443",
        "hsts = 300",
      ),
      SOURCE,
    ).tls;
    expect(tls).toMatchObject({
      mode: "files",
      listen: 8443,
      cert: "/etc/ssl/app.pem",
      key: "/etc/ssl/app.key",
      hstsSec: 300,
    });
  });

  it("reads mode = certbot with a real server name, an email and a private ACME server", () => {
    const config = parseConfig(
      named(
        "app.example.com www.app.example.com",
        "mode = certbot",
        "email = ops@example.com",
        "acme_server = https://127.0.0.1:14000/dir",
      ),
      SOURCE,
    );
    expect(config.tls).toMatchObject({
      mode: "certbot",
      email: "ops@example.com",
      acmeServer: "https://127.0.0.1:14000/dir",
    });
  });

  it("needs cert and key with mode = files", () => {
    expect(problemsOf(withTls("mode = files"))).toEqual([
      "[tls] cert: required with mode = files; the PEM certificate chain nginx serves, e.g. cert = /etc/ssl/certs/app.pem",
      "[tls] key: required with mode = files; the PEM private key nginx serves, e.g. key = /etc/ssl/private/app.key",
    ]);
  });

  it("refuses a certificate without mode = files, and HSTS without HTTPS", () => {
    expect(problemsOf(withTls("cert = /etc/ssl/app.pem", "hsts = 60"))).toEqual([
      "[tls] cert: is only used with mode = files (or certbot); set mode = files to serve this certificate",
      "[tls] hsts: needs HTTPS; set mode = files or certbot",
    ]);
    expect(problemsOf(named("app.example.com", "mode = certbot", "key = /etc/ssl/app.key"))).toEqual([
      "[tls] key: is for mode = files; certbot keeps its own certificate under /etc/letsencrypt",
    ]);
  });

  it("refuses certbot for the catch-all, wildcard or regex server names", () => {
    expect(problemsOf(withTls("mode = certbot"))).toEqual([
      '[nginx] server_name: must be the site\'s real host names with [tls] mode = certbot (a certificate is issued for each), not "_"; e.g. server_name = app.example.com',
    ]);
    expect(problemsOf(named("app.example.com *.example.com ~^x", "mode = certbot"))).toEqual([
      '[nginx] server_name: must be the site\'s real host names with [tls] mode = certbot (a certificate is issued for each), not "*.example.com", "~^x"; e.g. server_name = app.example.com',
    ]);
  });

  it("refuses an unknown mode, a plain-http ACME server, a bad email and a clash of ports", () => {
    expect(
      problemsOf(
        `${MINIMAL}[nginx]\nlisten = 8443\n[tls]\nmode = on\nacme_server = http://ca.example/dir\nemail = -x\nlisten = 8443\n`,
      ),
    ).toEqual([
      '[tls] mode: must be one of off, files, certbot, got "on"',
      '[tls] email: must be an email address, e.g. ops@example.com, got "-x"',
      '[tls] acme_server: must be the https:// URL of an ACME directory, e.g. https://acme-staging-v02.api.letsencrypt.org/directory, got "http://ca.example/dir"',
    ]);
    expect(problemsOf(withTls("mode = files", "cert = /a.pem", "key = /a.key", "listen = 8501"))).toEqual([
      "[tls] listen: 8501 is also a port of [service.web]",
    ]);
    expect(
      problemsOf(
        `${MINIMAL}[nginx]\nlisten = 8443\n[tls]\nmode = files\ncert = /a.pem\nkey = /a.key\nlisten = 8443\n`,
      ),
    ).toEqual(["[tls] listen: 8443 is also the port nginx listens on for HTTP ([nginx] listen)"]);
  });

  it("refuses the webhook listener on the HTTPS port", () => {
    expect(
      problemsOf(
        withTls("mode = files", "cert = /a.pem", "key = /a.key", "listen = 8443") +
          "[webhook]\nlisten = 0.0.0.0:8443\n",
      ),
    ).toEqual(["[webhook] listen: port 8443 is also the port nginx serves HTTPS on ([tls] listen)"]);
    // with tls off the port is free
    expect(() =>
      parseConfig(`${MINIMAL}[webhook]\nlisten = 0.0.0.0:8443\n[tls]\nlisten = 8443\n`, SOURCE),
    ).not.toThrow();
  });
});
