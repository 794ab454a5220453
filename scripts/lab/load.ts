// Steady traffic through a server's nginx (scripts/load.mjs) while a test deploys, and what it saw.
import path from "node:path";
import { REPO_ROOT, type InnerProcess, type TestServer } from "./server.js";

export interface LoadOptions {
  /** Default http://127.0.0.1:80, the server's nginx. */
  base?: string;
  /** Paced requests per second on a shared keep-alive pool; 0 with `connections` for a closed loop only. */
  rps?: number;
  /** Connections that each send their next request as soon as the last one is answered. */
  connections?: number;
  /** Streamlit websocket sessions held open at once. */
  sessions?: number;
  sessionMin?: number;
  sessionMax?: number;
  /** Seconds; without it the load runs until stop(). */
  duration?: number;
  /** Where load.mjs writes every request's send time, latency and outcome when it stops. */
  samples?: string;
  /** Extra environment for load.mjs, e.g. NODE_EXTRA_CA_CERTS to trust a test CA over https. */
  env?: Record<string, string>;
}

export interface LoadFailure {
  t: number;
  method: string;
  path: string;
  status: number | null;
  error: string | null;
}

export interface SessionDrop {
  t: number;
  code: number;
  reason: string;
  openMs: number;
  error?: string;
}

/** load.mjs's summary; every t is ms since the load started. */
export interface LoadSummary {
  durationMs: number;
  options: Record<string, unknown>;
  requests: {
    sent: number;
    ok: number;
    failed: number;
    retried: number;
    inFlight: number;
    byPath: Record<string, { ok: number; failed: number }>;
  };
  failures: LoadFailure[];
  failuresNotListed: number;
  failureWindows: { start: number; end: number; count: number }[];
  /** Answers of /api/version by "version/color", e.g. "1.0.0/blue". */
  versions: Record<string, number>;
  transitions: { t: number; from: string; to: string }[];
  sessions: {
    opened: number;
    closedByClient: number;
    dropped: number;
    openFailed: number;
    messages: number;
    open: number;
    drops: SessionDrop[];
  };
  internalErrors: number;
}

export interface Load {
  process: InnerProcess;
  /** SIGTERM, then the summary it prints; throws if load.mjs failed. */
  stop(): Promise<LoadSummary>;
}

const FLAGS = {
  rps: "--rps",
  connections: "--connections",
  sessions: "--sessions",
  sessionMin: "--session-min",
  sessionMax: "--session-max",
  duration: "--duration",
  samples: "--samples",
} as const;

/** load.mjs's --samples file: parallel arrays, one entry per request, and the open session count at each change. */
export interface LoadSamples {
  /** send time, ms since the load started */
  t: number[];
  /** send to answer (or failure), in units of 0.1 ms */
  latency100us: number[];
  /** 1 answered as expected, 0 failed */
  ok: number[];
  /** [t, open sessions] at every change */
  sessions: [number, number][];
}

/** Starts load.mjs inside the server against its nginx. */
export function startLoad(server: TestServer, opts: LoadOptions = {}): Load {
  const args = [path.join(REPO_ROOT, "scripts", "load.mjs"), "--base", opts.base ?? "http://127.0.0.1:80"];
  for (const [key, flag] of Object.entries(FLAGS)) {
    const value = opts[key as keyof typeof FLAGS];
    if (value !== undefined) args.push(flag, String(value));
  }
  const subprocess = server.spawn("node", args, opts.env ? { env: opts.env } : {});
  return {
    process: subprocess,
    async stop() {
      subprocess.kill("SIGTERM");
      const r = await subprocess;
      const line = r.stdout.trim().split("\n").at(-1) ?? "";
      if (r.exitCode !== 0 || !line.startsWith("{")) {
        throw new Error(
          `load.mjs exited ${r.exitCode ?? r.signal} without a summary:\n${r.stderr.slice(-3000)}`,
        );
      }
      return JSON.parse(line) as LoadSummary;
    },
  };
}
