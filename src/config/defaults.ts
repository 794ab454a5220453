// Every key's default, written as it would appear in the ini file, so defaults go through the same
// validation as user values and this table reads like the README.

export const DEFAULT_CONFIG_PATH = "/etc/rf-agent/agent.ini";
export const CONFIG_PATH_ENV = "RF_AGENT_CONFIG";

export const APP_DEFAULTS = {
  name: "app",
  branch: "main",
  python: "/usr/bin/python3",
  requirements: "requirements.txt",
  pip_args: "",
  env_file: "",
} as const;

export const HEALTH_DEFAULTS = { timeout: "60", interval: "0.1", stable: "0.5", successes: "3" } as const;

export const NGINX_DEFAULTS = { listen: "80", server_name: "_" } as const;

export const LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory";

// off: nothing changes for a config without [tls].
export const TLS_DEFAULTS = { mode: "off", listen: "443", acme_server: LETS_ENCRYPT, hsts: "0" } as const;

export const SWITCH_DEFAULTS = { grace: "5", drain: "30", standby: "0", watch: "10" } as const;

export const SERVICE_DEFAULTS = { health: "/health", websocket: "false", network: "any" } as const;

// Empty schedule: no timer. The webhook listener binds loopback by default; nginx may proxy to it.
export const TRIGGER_DEFAULTS = { schedule: "" } as const;

export const WEBHOOK_DEFAULTS = {
  listen: "127.0.0.1:9000",
  secret_file: "/etc/rf-agent/webhook.secret",
  provider: "github",
} as const;

/** A service's route when it is the only one. */
export const SOLE_SERVICE_ROUTE = "/";

/** Used when the file has no [service.*] section at all: the FastAPI API and the Streamlit UI. */
export const DEFAULT_SERVICES: ReadonlyArray<{ name: string; keys: Readonly<Record<string, string>> }> = [
  {
    name: "api",
    keys: {
      command: "uvicorn backend.main:app --host 127.0.0.1 --port {port}",
      ports: "8000, 8001",
      health: "/health",
      route: "/api/",
      websocket: "false",
    },
  },
  {
    name: "web",
    keys: {
      command: "streamlit run Home.py --server.port {port} --server.address 127.0.0.1 --server.headless true",
      ports: "8501, 8502",
      health: "/_stcore/health",
      route: "/",
      websocket: "true",
    },
  },
];

/** Upper bound for every seconds key: Node's timers silently fire after 1 ms beyond ~24.8 days. */
export const MAX_SECONDS = 86_400;
