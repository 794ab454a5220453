// The agent.ini integration tests deploy the example app with, written inside a server.
import { AGENT_CONFIG, type TestServer } from "./server.js";

export type IniValue = string | number | boolean;
/** Keys to set per section; a null key is removed, a null section is removed whole. */
export type ConfigOverrides = Record<string, Record<string, IniValue | null> | null>;

/** The example app, the local origin and the local package index; health and switch kept short for tests. */
export function baseConfig(): Record<string, Record<string, IniValue>> {
  return {
    app: {
      name: "demo",
      repo: "/srv/origin/app.git",
      branch: "main",
      root: "/srv/demo",
      user: "demo",
      python: "/usr/bin/python3",
      pip_args: "--index-url file:///opt/pypi/simple",
    },
    health: { timeout: 90, interval: 0.1, stable: 0.5, successes: 3 },
    switch: { grace: 2, drain: 10, standby: 0, watch: 3 },
    "service.api": {
      command: "uvicorn backend.main:app --host 127.0.0.1 --port {port}",
      ports: "8000, 8001",
      health: "/health",
      route: "/api/",
    },
    "service.web": {
      command: "streamlit run Home.py --server.port {port} --server.address 127.0.0.1 --server.headless true",
      ports: "8501, 8502",
      health: "/_stcore/health",
      route: "/",
      websocket: true,
    },
  };
}

/** The INI text of the base config with overrides merged in. */
export function renderConfig(overrides: ConfigOverrides = {}): string {
  const sections: Record<string, Record<string, IniValue>> = baseConfig();
  for (const [name, keys] of Object.entries(overrides)) {
    if (keys === null) {
      delete sections[name];
      continue;
    }
    const section = (sections[name] ??= {});
    for (const [key, value] of Object.entries(keys)) {
      if (value === null) delete section[key];
      else section[key] = value;
    }
  }
  return Object.entries(sections)
    .map(([name, keys]) => [`[${name}]`, ...Object.entries(keys).map(([k, v]) => `${k} = ${v}`)].join("\n"))
    .join("\n\n")
    .concat("\n");
}

/** Writes /etc/rf-agent/agent.ini (0600: it may name secrets) inside the server; returns the text. */
export async function writeAgentConfig(server: TestServer, overrides: ConfigOverrides = {}): Promise<string> {
  const text = renderConfig(overrides);
  await server.writeFile(AGENT_CONFIG, text, 0o600);
  return text;
}
