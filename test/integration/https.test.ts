// HTTPS end to end: a certificate from a local ACME server (Debian's pebble) through certbot's
// webroot, deploys and a rollback over https:// and wss:// under load, certbot's renewal after
// several deploys, and a certificate the operator provides.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeAgentConfig, type ConfigOverrides } from "../../scripts/lab/config.js";
import { startLoad, type LoadSummary } from "../../scripts/lab/load.js";
import { createOrigin, pushVersion, type Origin } from "../../scripts/lab/origin.js";
import { TestServer } from "../../scripts/lab/server.js";

// Resolves to the server itself (its /etc/hosts), so pebble's HTTP-01 check reaches its nginx.
const NAME = "app.rf-test.example";
const PEBBLE = "/etc/pebble";
/** Trusted by certbot for pebble's own API (not for what it issues). */
const PEBBLE_API_CA = `${PEBBLE}/api-ca.pem`;
/** The root pebble issues under, fetched from its management port once it runs. */
const ISSUED_ROOT = `${PEBBLE}/issued-root.pem`;
const CERTBOT_ENV = { REQUESTS_CA_BUNDLE: PEBBLE_API_CA };
const LIVE_CERT = "/etc/letsencrypt/live/rf-agent-demo/fullchain.pem";
const SITE = "/etc/nginx/sites-available/rf-agent-demo.conf";
const WEBROOT = "/var/lib/rf-agent-acme";

let server: TestServer;
let origin: Origin;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function certbotConfig(): ConfigOverrides {
  return {
    nginx: { server_name: NAME, preview_listen: "127.0.0.1:8081" },
    tls: { mode: "certbot", email: "ops@rf-test.example", acme_server: "https://127.0.0.1:14000/dir" },
    switch: { grace: 1, drain: 20, standby: 60, watch: 2 },
  };
}

/** curl inside the server, trusting `ca`: the status, the HTTP version, the headers and the body. */
async function curlHttps(
  urlPath: string,
  ca: string,
): Promise<{ status: number; http: string; body: string; headers: string }> {
  // --include rather than -D /dev/stderr, which makes curl crash under the test's nsenter.
  const r = await server.exec("curl", [
    "-sS",
    "--include",
    "--cacert",
    ca,
    "-w",
    "\n%{http_code} %{http_version}",
    "--max-time",
    "10",
    `https://${NAME}${urlPath}`,
  ]);
  const cut = r.stdout.lastIndexOf("\n");
  const [status, http] = r.stdout.slice(cut + 1).split(" ");
  const response = r.stdout.slice(0, cut);
  const split = response.indexOf("\r\n\r\n");
  return {
    status: Number(status) || 0,
    http: http ?? "",
    headers: split < 0 ? `${response}${r.stderr}` : response.slice(0, split),
    body: split < 0 ? "" : response.slice(split + 4),
  };
}

async function servedOverHttps(ca = ISSUED_ROOT): Promise<string> {
  const r = await curlHttps("/api/version", ca);
  expect(r.status, r.headers).toBe(200);
  const body = JSON.parse(r.body) as { version: string; color: string };
  return `${body.version}/${body.color}`;
}

/** SHA-256 fingerprint of the certificate nginx presents for NAME on 443. */
async function servedFingerprint(): Promise<string> {
  const r = await server.sh(
    `openssl s_client -connect 127.0.0.1:443 -servername ${NAME} </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256`,
  );
  expect(r.stdout, r.stderr).toMatch(/Fingerprint=/);
  return r.stdout.trim();
}

async function fileFingerprint(file: string): Promise<string> {
  const r = await server.exec("openssl", ["x509", "-in", file, "-noout", "-fingerprint", "-sha256"]);
  expect(r.exitCode, r.stderr).toBe(0);
  return r.stdout.trim();
}

/** Plain HTTP on port 80 with the site's name: status and Location, never followed. */
async function plainHttp(urlPath: string): Promise<{ status: number; location: string; body: string }> {
  const r = await server.exec("curl", [
    "-sS",
    "-o",
    "-",
    "-w",
    "\n%{http_code} %{redirect_url}",
    "-H",
    `Host: ${NAME}`,
    `http://127.0.0.1:80${urlPath}`,
  ]);
  const cut = r.stdout.lastIndexOf("\n");
  const [status, location] = r.stdout.slice(cut + 1).split(" ");
  return { status: Number(status) || 0, location: location ?? "", body: r.stdout.slice(0, cut) };
}

function httpsLoad(ca: string) {
  return startLoad(server, {
    base: `https://${NAME}:443`,
    rps: 20,
    sessions: 4,
    sessionMin: 2,
    sessionMax: 5,
    env: { NODE_EXTRA_CA_CERTS: ca },
  });
}

function expectNoLoss(load: LoadSummary): void {
  expect(load.options.base).toBe(`https://${NAME}:443`);
  expect(load.requests.sent).toBeGreaterThan(50);
  expect(load.requests.failed, JSON.stringify(load.failures.slice(0, 5))).toBe(0);
  expect(load.sessions.opened).toBeGreaterThan(0);
  expect(load.sessions.closedByClient).toBeGreaterThan(0);
  expect(load.sessions.dropped, JSON.stringify(load.sessions.drops)).toBe(0);
  expect(load.sessions.openFailed).toBe(0);
}

async function deployUnderLoad(ca: string, args: string[]): Promise<LoadSummary> {
  const load = httpsLoad(ca);
  await sleep(2500);
  const r = await server.rfAgent(args, { env: CERTBOT_ENV });
  await sleep(500);
  const summary = await load.stop();
  expect(r.exitCode, r.stderr).toBe(0);
  return summary;
}

beforeAll(async () => {
  server = await TestServer.up();
  // pebble: its API over TLS with a throwaway CA made here, HTTP-01 checks against port 80, no sleeps,
  // no rejected nonces (certbot would retry, but the test should not depend on that).
  const setup = await server.sh(`set -euo pipefail
echo "127.0.0.1 ${NAME}" >>/etc/hosts
mkdir -p ${PEBBLE} && cd ${PEBBLE}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout api-ca.key -out api-ca.pem \\
  -days 30 -subj "/CN=pebble API test CA" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout api.key -out api.csr -subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' >api.ext
openssl x509 -req -in api.csr -CA api-ca.pem -CAkey api-ca.key -CAcreateserial -out api.pem -days 30 -extfile api.ext 2>/dev/null
cat >config.json <<EOF
{"pebble": {"listenAddress": "127.0.0.1:14000", "managementListenAddress": "127.0.0.1:15000",
  "certificate": "${PEBBLE}/api.pem", "privateKey": "${PEBBLE}/api.key", "httpPort": 80, "tlsPort": 5001,
  "ocspResponderURL": "", "externalAccountBindingRequired": false}}
EOF`);
  expect(setup.exitCode, setup.stderr).toBe(0);
  origin = await createOrigin(server);
  await pushVersion(server, origin, "1.0.0");
  await writeAgentConfig(server, certbotConfig());
});

/** Starts pebble (it keeps its state in memory only) and fetches the root it issues under. */
async function startPebble(): Promise<void> {
  const r = await server.sh(`set -euo pipefail
cd ${PEBBLE}
systemd-run --quiet --unit=pebble -E PEBBLE_VA_NOSLEEP=1 -E PEBBLE_WFE_NONCEREJECT=0 /usr/bin/pebble -config ${PEBBLE}/config.json
for i in $(seq 50); do curl -fsS --cacert api-ca.pem https://127.0.0.1:15000/roots/0 >${ISSUED_ROOT} 2>/dev/null && break; sleep 0.2; done
grep -q "BEGIN CERTIFICATE" ${ISSUED_ROOT}`);
  expect(r.exitCode, r.stderr).toBe(0);
}

afterAll(async () => {
  await server?.down();
});

describe("HTTPS with certbot and a local ACME server", () => {
  it("deploys on plain HTTP with the ACME path while the ACME server cannot be reached", async () => {
    const r = await server.rfAgent(["deploy"], { env: CERTBOT_ENV });
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await server.exec("test", ["-e", LIVE_CERT])).exitCode).toBe(1);
    const site = await server.readFile(SITE);
    expect(site).toContain("location ^~ /.well-known/acme-challenge/ {");
    expect(site).not.toMatch(/ssl_certificate|return 301/);
    const page = await plainHttp("/api/version");
    expect(page.status).toBe(200);
    expect(JSON.parse(page.body)).toMatchObject({ version: "1.0.0", color: "blue" });
  });

  it("gets a certificate for the site's name on the next deploy and serves HTTPS with HTTP/2", async () => {
    await startPebble();
    // A deploy with nothing new asks certbot at most hourly after a failure (it would succeed now)...
    const quiet = await server.rfAgent(["deploy"], { env: CERTBOT_ENV });
    expect(quiet.exitCode, quiet.stderr).toBe(0);
    expect((await server.exec("test", ["-e", LIVE_CERT])).exitCode).toBe(1);
    // ...while a deploy that switches always asks.
    const r = await server.rfAgent(["deploy", "--force"], { env: CERTBOT_ENV });
    expect(r.exitCode, r.stderr).toBe(0);
    // Issued by pebble for the name, through a real HTTP-01 check of port 80.
    const cert = await server.exec("openssl", [
      "x509",
      "-in",
      LIVE_CERT,
      "-noout",
      "-issuer",
      "-ext",
      "subjectAltName",
    ]);
    expect(cert.exitCode, cert.stderr).toBe(0);
    expect(cert.stdout).toMatch(/issuer=.*Pebble/i);
    expect(cert.stdout).toContain(`DNS:${NAME}`);
    const log = await server.sh("grep -c '/.well-known/acme-challenge/' /var/log/nginx/access.log");
    expect(Number(log.stdout)).toBeGreaterThan(0);

    const https = await curlHttps("/api/version", ISSUED_ROOT);
    expect(https.status, https.headers).toBe(200);
    expect(https.http).toBe("2");
    expect(await servedOverHttps()).toBe("1.0.0/green");
    expect(await servedFingerprint()).toBe(await fileFingerprint(LIVE_CERT));
    // certbot renews on its own timer, and reloads nginx through the hook it keeps for this certificate.
    expect((await server.exec("systemctl", ["is-enabled", "certbot.timer"])).stdout.trim()).toBe("enabled");
    const renewal = await server.readFile("/etc/letsencrypt/renewal/rf-agent-demo.conf");
    expect(renewal).toContain("renew_hook = systemctl reload nginx");
    expect(renewal).toContain("authenticator = webroot");
  });

  it("redirects port 80 to HTTPS except the ACME path and rf-agent's own check", async () => {
    const page = await plainHttp("/api/version?x=1");
    expect(page.status).toBe(301);
    expect(page.location).toBe(`https://${NAME}/api/version?x=1`);
    await server.writeFile(`${WEBROOT}/.well-known/acme-challenge/probe-token`, "probe-answer");
    const challenge = await plainHttp("/.well-known/acme-challenge/probe-token");
    expect(challenge).toMatchObject({ status: 200, body: "probe-answer" });
    expect((await plainHttp("/.well-known/acme-challenge/none")).status).toBe(404);
    const live = await plainHttp("/__rf-agent/live");
    expect(live.status).toBe(200);
    expect(JSON.parse(live.body)).toMatchObject({ app: "demo", color: "green" });
    // The preview server stays plain HTTP on loopback.
    const preview = await server.curl("http://127.0.0.1:8081/__rf-agent/live");
    expect(preview.status, preview.error).toBe(200);
    expect(JSON.parse(preview.body)).toMatchObject({ preview: true });
  });

  it("deploys and rolls back over https:// and wss:// without losing a request or a session", async () => {
    await pushVersion(server, origin, "1.0.1");
    const deployed = await deployUnderLoad(ISSUED_ROOT, ["deploy"]);
    expectNoLoss(deployed);
    expect(Object.keys(deployed.versions)).toEqual(expect.arrayContaining(["1.0.0/green", "1.0.1/blue"]));
    expect(await servedOverHttps()).toBe("1.0.1/blue");

    const rolledBack = await deployUnderLoad(ISSUED_ROOT, ["rollback"]);
    expectNoLoss(rolledBack);
    expect(Object.keys(rolledBack.versions)).toEqual(expect.arrayContaining(["1.0.1/blue", "1.0.0/green"]));
    expect(await servedOverHttps()).toBe("1.0.0/green");
  });

  it("renews with certbot renew --force-renewal after several deploys, and nginx serves the new certificate", async () => {
    for (const version of ["1.0.2", "1.0.3"]) {
      await pushVersion(server, origin, version);
      const r = await server.rfAgent(["deploy"], { env: CERTBOT_ENV });
      expect(r.exitCode, r.stderr).toBe(0);
    }
    const site = await server.readFile(SITE);
    const before = await servedFingerprint();
    const renew = await server.exec(
      "certbot",
      ["renew", "--force-renewal", "--non-interactive", "--no-random-sleep-on-renew"],
      {
        env: CERTBOT_ENV,
      },
    );
    expect(renew.exitCode, renew.stderr).toBe(0);
    expect(renew.stdout + renew.stderr).toMatch(/succeeded/i);
    const renewed = await fileFingerprint(LIVE_CERT);
    expect(renewed).not.toBe(before);
    // The deploy hook reloaded nginx; nothing of ours was edited.
    let served = before;
    for (let i = 0; i < 50 && served !== renewed; i++) {
      await sleep(100);
      served = await servedFingerprint();
    }
    expect(served).toBe(renewed);
    expect(await server.readFile(SITE)).toBe(site);
    expect(await servedOverHttps()).toBe("1.0.3/green");

    // and the next deploy keeps serving the renewed certificate
    await pushVersion(server, origin, "1.0.4");
    const r = await server.rfAgent(["deploy"], { env: CERTBOT_ENV });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await servedOverHttps()).toBe("1.0.4/blue");
    expect(await servedFingerprint()).toBe(renewed);
  });
});

describe("status and doctor with certbot", () => {
  it("status shows the certificate's expiry and certbot's timer; doctor checks both", async () => {
    const status = await server.rfAgent(["status"]);
    expect(status.exitCode, status.stderr).toBe(0);
    const line = status.stdout.split("\n").find((l) => l.startsWith("https "));
    expect(line).toMatch(
      /^https {4}certbot: expires \d{4}-\d{2}-\d{2} \(\d+ days\); renewed by certbot\.timer \(enabled, active\)$/,
    );
    const json = JSON.parse((await server.rfAgent(["status", "--json"])).stdout) as {
      tls?: { mode: string; cert: string; notAfter: string; daysLeft: number; missing: string[] };
    };
    expect(json.tls).toMatchObject({ mode: "certbot", cert: LIVE_CERT, missing: [] });
    expect(json.tls?.daysLeft).toBeGreaterThan(30);
    const end = await server.exec("openssl", ["x509", "-in", LIVE_CERT, "-noout", "-enddate"]);
    expect(new Date(end.stdout.replace("notAfter=", "")).toISOString()).toBe(json.tls?.notAfter);
    const doctor = await server.rfAgent(["doctor"]);
    expect(doctor.stdout).toMatch(
      /^✓ HTTPS certificate \(\[tls\] mode = certbot\) and its renewal \(certbot: expires .*renewed by certbot\.timer \(enabled, active\)\)$/m,
    );
  });
});

describe("HTTPS with the operator's own certificate", () => {
  it("serves a self-signed certificate given as files, with HSTS, through a deploy under load", async () => {
    const made = await server.sh(`set -euo pipefail
mkdir -p /etc/ssl/rf-test && cd /etc/ssl/rf-test
openssl req -x509 -newkey rsa:2048 -nodes -keyout site.key -out site.pem -days 30 \\
  -subj "/CN=${NAME}" -addext "subjectAltName=DNS:${NAME}" 2>/dev/null
chmod 600 site.key`);
    expect(made.exitCode, made.stderr).toBe(0);
    const own = "/etc/ssl/rf-test/site.pem";
    await writeAgentConfig(server, {
      ...certbotConfig(),
      tls: { mode: "files", cert: own, key: "/etc/ssl/rf-test/site.key", hsts: 600 },
    });
    await pushVersion(server, origin, "2.0.0");
    // The first deploy changes the certificate itself: a client trusting only ours could not be
    // served before it, so the load comes with the next one.
    const first = await server.rfAgent(["deploy"]);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(await servedFingerprint()).toBe(await fileFingerprint(own));
    const r = await curlHttps("/api/version", own);
    expect(r.status, r.headers).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ version: "2.0.0" });
    expect(r.headers).toMatch(/^strict-transport-security: max-age=600\r?$/im);
    // wss:// and requests with only our certificate trusted, through another deploy
    await pushVersion(server, origin, "2.0.1");
    expectNoLoss(await deployUnderLoad(own, ["deploy"]));
    expect(await servedOverHttps(own)).toBe("2.0.1/blue");
    const page = await plainHttp("/");
    expect(page).toMatchObject({ status: 301, location: `https://${NAME}/` });
  });
});
