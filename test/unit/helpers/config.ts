// The default Config, written out literally (not parsed), so unit tests of everything
// downstream of src/config/ do not depend on the parser.
import type { Config, ServiceConfig } from "../../../src/config/types.js";

export const API: ServiceConfig = {
  name: "api",
  command: "uvicorn backend.main:app --host 127.0.0.1 --port {port}",
  ports: { blue: 8000, green: 8001 },
  health: "/health",
  route: "/api/",
  websocket: false,
  network: "any",
};

export const WEB: ServiceConfig = {
  name: "web",
  command: "streamlit run Home.py --server.port {port} --server.address 127.0.0.1 --server.headless true",
  ports: { blue: 8501, green: 8502 },
  health: "/_stcore/health",
  route: "/",
  websocket: true,
  network: "any",
};

/** A fresh copy of the defaults for app "demo"; `patch` may change it in place. */
export function testConfig(patch?: (config: Config) => void): Config {
  const config: Config = {
    source: "/etc/rf-agent/agent.ini",
    app: {
      name: "demo",
      repo: "/srv/origin/app.git",
      branch: "main",
      root: "/srv/demo",
      dataDir: "/var/lib/demo",
      user: "demo",
      python: "/usr/bin/python3",
      requirements: "requirements.txt",
      pipArgs: [],
      envFile: null,
      colorEnvFiles: { blue: null, green: null },
      requiredEnv: [],
      secretMinLength: 16,
    },
    services: [structuredClone(API), structuredClone(WEB)],
    health: { timeoutSec: 60, intervalSec: 0.1, stableSec: 0.5, successes: 3 },
    nginx: {
      listen: 80,
      serverName: "_",
      previewListen: "",
      previewServerName: "",
      include: null,
      httpInclude: null,
    },
    tls: {
      mode: "off",
      listen: 443,
      cert: null,
      key: null,
      email: "",
      acmeServer: "https://acme-v02.api.letsencrypt.org/directory",
      hstsSec: 0,
    },
    switch: { graceSec: 5, drainSec: 30, standbySec: 0, watchSec: 10 },
    hooks: { preSwitch: "", postSwitch: "", postRollback: "", timeoutSec: 300 },
    notify: { url: "", timeoutSec: 5 },
    metrics: { textfile: null },
    trigger: { schedule: null },
    webhook: {
      listen: { host: "127.0.0.1", port: 9000 },
      secretFile: "/etc/rf-agent/webhook.secret",
      provider: "github",
    },
  };
  patch?.(config);
  return config;
}

/** A 40-hex commit id made of one repeated character, e.g. sha("a"). */
export function sha(ch: string): string {
  return ch.repeat(40);
}
