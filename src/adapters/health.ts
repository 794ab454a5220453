// HTTP health checks over undici: fresh connections, short timeouts.
import { undici } from "./undici.js";

export interface HttpAnswer {
  status: number;
  body: string;
}

export type HttpGet = (url: string, opts?: { host?: string; timeoutMs?: number }) => Promise<HttpAnswer>;

export const httpGet: HttpGet = async (url, opts = {}) => {
  const timeout = opts.timeoutMs ?? 2000;
  try {
    const { request } = await undici();
    const r = await request(url, {
      method: "GET",
      headers: opts.host ? { host: opts.host } : {},
      headersTimeout: timeout,
      bodyTimeout: timeout,
      // A new connection each time: a kept-alive one could still reach an old nginx worker.
      reset: true,
    });
    const body = await r.body.text();
    return { status: r.statusCode, body: body.slice(0, 2000) };
  } catch (e) {
    return { status: 0, body: e instanceof Error ? e.message : String(e) };
  }
};

export interface HealthTarget {
  name: string;
  url: string;
}

/** Waits until the target answers 2xx `successes` times in a row; `failFast` can end the wait early. */
export async function waitHealthy(
  get: HttpGet,
  target: HealthTarget,
  opts: {
    successes: number;
    intervalMs: number;
    timeoutMs: number;
    failFast?: () => Promise<string | null>;
    /** The context's clock (tests move it on); default the real one. */
    now?: () => number;
    sleep?: (ms: number) => Promise<void>;
  },
): Promise<{ ok: true; ms: number } | { ok: false; reason: string }> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const started = now();
  let streak = 0;
  let last = "no answer yet";
  while (now() - started < opts.timeoutMs) {
    const r = await get(target.url, { timeoutMs: Math.max(1000, opts.intervalMs * 4) });
    if (r.status >= 200 && r.status < 300) {
      streak += 1;
      if (streak >= opts.successes) return { ok: true, ms: now() - started };
    } else {
      streak = 0;
      last = r.status ? `HTTP ${r.status}` : r.body;
      const fatal = await opts.failFast?.();
      if (fatal) return { ok: false, reason: fatal };
    }
    await sleep(opts.intervalMs);
  }
  return { ok: false, reason: `not healthy after ${Math.round(opts.timeoutMs / 1000)} s (last: ${last})` };
}
