// switchTo with [tls] mode = certbot and no certificate yet: the ACME path first, then certbot, then
// HTTPS; a failing certbot is a warning that leaves the plain site serving. (No certificate exists
// under /etc/letsencrypt/live/rf-agent-demo on a machine running unit tests.)
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Config } from "../../../src/config/types.js";
import { renderSite } from "../../../src/core/render.js";
import { ACME_WEBROOT, certbotArgs } from "../../../src/core/tls.js";
import type { Runner } from "../../../src/exec/runner.js";
import { formatTls, siteCertificate, tlsReport, tlsVerdict } from "../../../src/ops/certificate.js";
import { ensureCertificate, switchTo } from "../../../src/ops/nginx-routing.js";
import { sha, testConfig } from "../helpers/config.js";
import { fakeContext, fakeRunner, tempDir } from "../helpers/fakes.js";
import { fakeHost, hostModel } from "../helpers/host.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

const certbot = (c: Config) => {
  c.nginx.serverName = "app.example.com";
  c.tls = { ...c.tls, mode: "certbot", email: "ops@example.com" };
};

/** The fake host, with certbot answering `certbotExit`; the commands run, in order. */
async function host(certbotExit: number) {
  const h = await fakeHost(dir, hostModel(), { patch: certbot });
  const inner = h.ctx.run;
  const commands: string[] = [];
  const run = (async (file, args, options) => {
    commands.push([file, ...args].join(" "));
    if (file === "certbot")
      return { exitCode: certbotExit, stdout: "", stderr: "Challenge failed for domain app.example.com" };
    return inner(file, args, options);
  }) as Runner;
  return { ...h, ctx: { ...h.ctx, run }, commands };
}

describe("siteCertificate", () => {
  it("asks for nothing with tls off or files, and for every name when certbot has no certificate", async () => {
    expect(await siteCertificate(testConfig())).toEqual({ https: "off", issue: false, missing: [] });
    const files = testConfig((c) => (c.tls = { ...c.tls, mode: "files", cert: "/a.pem", key: "/a.key" }));
    expect(await siteCertificate(files)).toEqual({ https: "on", issue: false, missing: [] });
    expect(await siteCertificate(testConfig(certbot))).toEqual({
      https: "pending",
      issue: true,
      missing: ["app.example.com"],
    });
  });
});

describe("switchTo with certbot", () => {
  it("serves the ACME path, runs certbot once the switch is confirmed, then serves HTTPS", async () => {
    const { ctx, commands, get } = await host(0);
    await switchTo(ctx, "blue", sha("a"));
    expect(commands).toEqual([
      "nginx -t -q",
      "systemctl kill --kill-whom=main --signal=HUP nginx.service",
      `install -d -m 0755 -o root -g root ${ACME_WEBROOT}`,
      ["certbot", ...certbotArgs(ctx.config)].join(" "),
      // the HTTPS site's http2 syntax depends on the version
      "nginx -v",
      "nginx -t -q",
      "systemctl kill --kill-whom=main --signal=HUP nginx.service",
    ]);
    expect(await readFile(ctx.layout.sitePath, "utf8")).toBe(
      renderSite(ctx.config, ctx.layout, "on").content,
    );
    // confirmed after each reload, on port 80 with the site's name
    expect(
      get.calls.filter((c) => c.url === "http://127.0.0.1:80/__rf-agent/live").length,
    ).toBeGreaterThanOrEqual(2);
    expect(get.calls.at(-1)?.opts?.host).toBe("app.example.com");
  });

  it("keeps the plain site with the ACME path and warns when certbot fails; the switch stands", async () => {
    const { ctx, commands, records } = await host(1);
    await switchTo(ctx, "green", sha("b"));
    expect(commands.filter((c) => c.startsWith("certbot "))).toHaveLength(1);
    expect(commands.at(-1)).toMatch(/^certbot certonly /);
    expect(await readFile(ctx.layout.sitePath, "utf8")).toBe(
      renderSite(ctx.config, ctx.layout, "pending").content,
    );
    const warning = records.find((r) => r.tls === "not-issued");
    expect(warning).toMatchObject({ level: 40, names: ["app.example.com"] });
    expect(String(warning?.details)).toContain("Challenge failed for domain app.example.com");
  });
});

describe("ensureCertificate", () => {
  it("does nothing with tls off", async () => {
    const h = await fakeHost(dir, hostModel());
    await ensureCertificate(h.ctx, { color: "blue", sha: sha("a") });
    expect(h.run.calls).toEqual([]);
  });

  it("after a failure, asks certbot again only an hour later (Let's Encrypt's limit on failures)", async () => {
    const { ctx: base, commands } = await host(1);
    let now = new Date("2026-12-02T10:00:00Z");
    const ctx = { ...base, now: () => now };
    const live = { color: "blue" as const, sha: sha("a") };
    await ensureCertificate(ctx, live);
    now = new Date("2026-12-02T10:59:00Z");
    await ensureCertificate(ctx, live);
    expect(commands.filter((c) => c.startsWith("certbot certonly "))).toHaveLength(1);
    now = new Date("2026-12-02T11:00:01Z");
    await ensureCertificate(ctx, live);
    expect(commands.filter((c) => c.startsWith("certbot certonly "))).toHaveLength(2);
  });

  it("applies the live site again and asks certbot when the certificate is missing", async () => {
    const { ctx, commands } = await host(0);
    await ensureCertificate(ctx, { color: "blue", sha: sha("a") });
    expect(commands.filter((c) => c.startsWith("certbot certonly "))).toHaveLength(1);
    expect(await readFile(ctx.layout.sitePath, "utf8")).toBe(
      renderSite(ctx.config, ctx.layout, "on").content,
    );
  });
});

// A self-signed certificate for app.example.com and *.cdn.example.com, valid until 2036-11-29T05:16:23Z.
const FIXTURE = fileURLToPath(new URL("../../fixtures/tls/app.example.com.pem", import.meta.url));

function filesContext(serverName: string, now: string) {
  const config = testConfig((c) => {
    c.nginx.serverName = serverName;
    c.tls = { ...c.tls, mode: "files", cert: FIXTURE, key: "/etc/ssl/private/app.key" };
  });
  const run = fakeRunner();
  return { ctx: { ...fakeContext(config, { run }), now: () => new Date(now) }, run };
}

describe("tlsReport / tlsVerdict", () => {
  it("has nothing to say with tls off", async () => {
    expect(await tlsReport(fakeContext(testConfig()))).toBeNull();
  });

  it("reads the operator's certificate: expiry, days left, names it lacks; no timer asked", async () => {
    const { ctx, run } = filesContext("app.example.com www.app.example.com", "2026-12-02T00:00:00Z");
    const r = await tlsReport(ctx);
    expect(r).toEqual({
      mode: "files",
      cert: FIXTURE,
      notAfter: "2036-11-29T05:16:23.000Z",
      daysLeft: 3650,
      missing: ["www.app.example.com"],
      renewal: null,
    });
    expect(run.calls).toEqual([]);
    expect(formatTls(r!)).toBe("https    files: expires 2036-11-29 (3650 days), lacks www.app.example.com");
    expect(tlsVerdict(r!)).toMatchObject({
      ok: false,
      fix: "use a certificate that covers every [nginx] server_name",
    });
  });

  it("passes a covering certificate, and fails it 14 days before expiry", async () => {
    const fresh = await tlsReport(filesContext("_", "2026-12-02T00:00:00Z").ctx);
    expect(tlsVerdict(fresh!)).toEqual({ ok: true, detail: "files: expires 2036-11-29 (3650 days)" });
    const late = await tlsReport(filesContext("app.example.com", "2036-11-20T00:00:00Z").ctx);
    expect(late?.daysLeft).toBe(9);
    expect(tlsVerdict(late!)).toMatchObject({
      ok: false,
      fix: `replace ${FIXTURE} with a renewed certificate, then systemctl reload nginx`,
    });
  });

  it("with certbot and no certificate yet: ready once its timer runs, the next deploy asks", async () => {
    const run = fakeRunner((_file, args) => ({ exitCode: args[0] === "is-active" ? 3 : 0 }));
    const ctx = fakeContext(testConfig(certbot), { run });
    const r = await tlsReport(ctx);
    expect(r).toMatchObject({ mode: "certbot", notAfter: null, missing: ["app.example.com"] });
    expect(r?.renewal).toEqual({ certbot: true, timer: "certbot.timer", enabled: true, active: false });
    expect(run.calls.map((c) => [c.file, ...c.args].join(" "))).toEqual([
      "certbot --version",
      "systemctl is-enabled --quiet certbot.timer",
      "systemctl is-active --quiet certbot.timer",
    ]);
    expect(formatTls(r!)).toBe(
      "https    certbot: no certificate at /etc/letsencrypt/live/rf-agent-demo/fullchain.pem yet; renewed by certbot.timer (enabled, inactive)",
    );
    expect(tlsVerdict(r!)).toMatchObject({
      ok: false,
      fix: "systemctl enable --now certbot.timer (apt-get install certbot)",
    });
    const ready = { ...r!, renewal: { ...r!.renewal!, active: true } };
    expect(tlsVerdict(ready)).toEqual({
      ok: true,
      detail:
        "certbot: no certificate at /etc/letsencrypt/live/rf-agent-demo/fullchain.pem yet; renewed by certbot.timer (enabled, active); the next deploy asks certbot for app.example.com (their DNS must point here, port 80 open)",
    });
  });

  it("fails certbot's host without certbot", async () => {
    const run = fakeRunner((file) => ({ exitCode: file === "certbot" ? 127 : 0 }));
    const r = await tlsReport(fakeContext(testConfig(certbot), { run }));
    expect(formatTls(r!)).toMatch(/; certbot is NOT installed$/);
    expect(tlsVerdict(r!)).toMatchObject({ ok: false, fix: "apt-get install certbot" });
  });
});
