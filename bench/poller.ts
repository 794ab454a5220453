// Runs INSIDE the bench server (node --import tsx): polls /api/version and /_stcore/health through
// nginx every INTERVAL ms, each on a fresh connection (so a kept-alive socket to an old nginx worker
// can never hide a switch), and prints one JSON line per answer:
//   ["v" | "h", sentEpochMs, answeredEpochMs, status (0: no HTTP answer), value]
// value is "version/color" for "v", the body (or the error) for "h". A kind whose previous request
// is still out skips a tick rather than piling up. Exits 0 on SIGTERM/SIGINT.
//
//   node --import tsx bench/poller.ts [BASE_URL] [INTERVAL_MS]
import http from "node:http";

const base = new URL(process.argv[2] ?? "http://127.0.0.1:80");
const intervalMs = Number(process.argv[3] ?? 50);
const TIMEOUT_MS = 2000;

type Kind = "v" | "h";
const PATHS: Record<Kind, string> = { v: "/api/version", h: "/_stcore/health" };
const busy: Record<Kind, boolean> = { v: false, h: false };

function get(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = http.get(new URL(path, base), {
      agent: false,
      headers: { connection: "close", "user-agent": "rf-bench-poller/1" },
      timeout: TIMEOUT_MS,
    });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
      );
      res.on("error", (e) => resolve({ status: 0, body: (e as NodeJS.ErrnoException).code ?? e.message }));
    });
    req.on("timeout", () => req.destroy(Object.assign(new Error("timeout"), { code: "ETIMEDOUT" })));
    req.on("error", (e) => resolve({ status: 0, body: (e as NodeJS.ErrnoException).code ?? e.message }));
  });
}

function value(kind: Kind, status: number, body: string): string {
  if (kind === "h" || status !== 200) return body.trim().slice(0, 80);
  try {
    const data = JSON.parse(body) as { version?: unknown; color?: unknown };
    return `${String(data.version)}/${String(data.color)}`;
  } catch {
    return "bad-json";
  }
}

function poll(kind: Kind): void {
  if (busy[kind]) return;
  busy[kind] = true;
  const sent = Date.now();
  void get(PATHS[kind]).then(({ status, body }) => {
    busy[kind] = false;
    process.stdout.write(JSON.stringify([kind, sent, Date.now(), status, value(kind, status, body)]) + "\n");
  });
}

const timer = setInterval(() => {
  poll("v");
  poll("h");
}, intervalMs);

function stop(): void {
  clearInterval(timer);
  process.stdout.write("", () => process.exit(0));
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
