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

/** What systemd says when a streak would pass: null, it may; else start over, or give up. */
export type Confirmation = null | { reset: string } | { fail: string };

export type Healthy = { ok: true; ms: number; firstHealthyMs: number } | { ok: false; reason: string };

// systemd is asked about a crash at most this often while answers fail: a probe every 0.1 s must
// not spawn a `systemctl show` every 0.1 s beside an app that is still starting.
const FAIL_FAST_EVERY_MS = 500;

/**
 * Waits until the target has answered 2xx, without a single failure, for at least `stableMs` and
 * at least `successes` times, and `confirm` (systemd: still active, never restarted) agrees.
 * `failFast` can end the wait early after a failed answer. `firstHealthyMs`: from the start of the
 * wait to the first answer of the streak that passed.
 */
export async function waitHealthy(
  get: HttpGet,
  target: HealthTarget,
  opts: {
    successes: number;
    stableMs: number;
    intervalMs: number;
    timeoutMs: number;
    failFast?: () => Promise<string | null>;
    confirm?: () => Promise<Confirmation>;
    /** The context's clock (tests move it on); default the real one. */
    now?: () => number;
    sleep?: (ms: number) => Promise<void>;
  },
): Promise<Healthy> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const started = now();
  // The unbroken streak: how many 2xx answers, and when the first of them came.
  let streak = 0;
  let since = 0;
  let askedAt = -Infinity;
  let last = "no answer yet";
  // The answer that may complete the streak: from the window's start, with one more success.
  const closing = () => streak > 0 && streak + 1 >= opts.successes && now() - since >= opts.stableMs;
  while (now() - started < opts.timeoutMs) {
    // systemd is asked alongside the answer that may pass rather than after it: what it says then
    // is as fresh, and the switch comes one `systemctl show` sooner.
    const confirming = closing() ? opts.confirm?.() : undefined;
    confirming?.catch(() => undefined);
    const r = await get(target.url, { timeoutMs: Math.max(1000, opts.intervalMs * 4) });
    const at = now();
    if (r.status >= 200 && r.status < 300) {
      if (streak === 0) since = at;
      streak += 1;
      if (streak >= opts.successes && at - since >= opts.stableMs) {
        const verdict = (await (confirming ?? opts.confirm?.())) ?? null;
        if (verdict === null) return { ok: true, ms: now() - started, firstHealthyMs: since - started };
        if ("fail" in verdict) return { ok: false, reason: verdict.fail };
        streak = 0;
        last = verdict.reset;
      }
    } else {
      streak = 0;
      last = r.status ? `HTTP ${r.status}` : r.body;
      if (opts.failFast && at - askedAt >= FAIL_FAST_EVERY_MS) {
        askedAt = at;
        const fatal = await opts.failFast();
        if (fatal) return { ok: false, reason: fatal };
      }
    }
    // The answer that can close the window is asked the moment it can, not at the next interval
    // (answers only waiting for `successes` keep their interval).
    const closesIn = since + opts.stableMs - now();
    const closesSooner =
      streak > 0 && streak + 1 >= opts.successes && closesIn > 0 && closesIn < opts.intervalMs;
    await sleep(closesSooner ? closesIn : opts.intervalMs);
    if (streak > 0) {
      last = `2xx for only ${((at - since) / 1000).toFixed(1)} s, ${streak} answer${streak === 1 ? "" : "s"} (stable = ${opts.stableMs / 1000} s, successes = ${opts.successes})`;
    }
  }
  return { ok: false, reason: `not healthy after ${Math.round(opts.timeoutMs / 1000)} s (last: ${last})` };
}
