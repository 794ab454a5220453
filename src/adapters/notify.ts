// [notify] url: a JSON POST (Slack-compatible `text` plus fields) after deploys and rollbacks. Best effort.
import { undici } from "./undici.js";
import { scrubDeep, type Logger } from "../log.js";

export interface Notice {
  event: "deploy" | "rollback" | "switch";
  outcome: string;
  ok: boolean;
  app: string;
  host: string;
  id: string;
  from: { color: string; sha: string } | null;
  to: { color: string; sha: string } | null;
  error?: string;
  durationMs: number;
}

export function noticeText(n: Notice): string {
  const icon = n.ok ? "✅" : "❌";
  const to = n.to ? `${n.to.sha.slice(0, 12)} (${n.to.color})` : "?";
  const from = n.from ? ` from ${n.from.sha.slice(0, 12)} (${n.from.color})` : "";
  const tail = n.error ? `: ${n.error}` : "";
  return `${icon} ${n.app} on ${n.host}: ${n.event} ${n.outcome}, ${to}${from} in ${(n.durationMs / 1000).toFixed(1)} s${tail}`;
}

/** The POST body: the notice and its text, every env-file value scrubbed (the error may quote one). */
export function noticeBody(notice: Notice): string {
  const n = scrubDeep(notice);
  return JSON.stringify({ text: noticeText(n), ...n });
}

/** One retry; a failure is logged and never fails the deploy. */
export async function sendNotice(
  url: string,
  timeoutSec: number,
  notice: Notice,
  log: Logger,
): Promise<void> {
  const body = noticeBody(notice);
  for (let attempt = 1; attempt <= 2; attempt++) {
    try {
      const { request } = await undici();
      const r = await request(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        headersTimeout: timeoutSec * 1000,
        bodyTimeout: timeoutSec * 1000,
      });
      await r.body.dump();
      if (r.statusCode < 300) return;
      log.warn({ status: r.statusCode, attempt }, `notification answered HTTP ${r.statusCode}`);
    } catch (e) {
      log.warn({ attempt, err: e instanceof Error ? e.message : String(e) }, "notification failed");
    }
  }
}
