// rf-agent status: what serves, what each slot holds, whether it is healthy, who holds the lock.
import { COLORS, type Color } from "../config/types.js";
import type { Context } from "../context.js";
import { other } from "../core/layout.js";
import { printableLine } from "../core/printable.js";
import { formatTls, tlsReport, type TlsReport } from "../ops/certificate.js";
import { runHistory } from "../ops/history.js";
import { lockHolder } from "../ops/lock-holder.js";
import { readState } from "../ops/reconcile.js";
import { serviceStatuses } from "../ops/service-status.js";
import { previewUrl, servedByNginx } from "../ops/nginx-routing.js";

export interface StatusReport {
  app: string;
  live: { color: Color; sha: string; since: string | null } | null;
  nginx: { color: Color; sha: string } | null;
  previous: { color: Color; sha: string } | null;
  standby: { color: Color; until: string; secondsLeft: number } | null;
  slots: Record<
    Color,
    {
      sha: string | null;
      role: "live" | "standby" | "idle";
      services: Record<string, { unit: string; port: number; state: string; healthy: boolean }>;
    }
  >;
  lock: { pid: number; command: string; since: string } | null;
  /** The preview server (idle color) when [nginx] preview_* is set. */
  preview: { url: string; color: Color; sha: string | null } | null;
  staged: { color: Color; sha: string } | null;
  lastRun: { id: string; command: string; startedAt: string; outcome: string; trigger: string } | null;
  /** The certificate the site serves, with [tls] on: expiry and certbot's renewal timer. */
  tls?: TlsReport | null;
}

// Everything asked at once: one `systemctl show` for every unit, the health URLs together, nginx,
// the lock and the ledger beside them; the slowest answer sets the time, not their sum.
export async function collectStatus(ctx: Context): Promise<StatusReport> {
  const units = serviceStatuses(ctx);
  const asked = await Promise.allSettled([
    readState(
      ctx,
      units.then(
        (u) => u.activeStates,
        () => undefined,
      ),
    ),
    servedByNginx(ctx),
    units,
    tlsReport(ctx),
    lockHolder(ctx),
    runHistory(ctx),
  ]);
  // A failure is reported as when they were asked one by one: the first in this order.
  const state = valueOf(asked[0]);
  const nginx = valueOf(asked[1]);
  const { services } = valueOf(asked[2]);
  const tls = valueOf(asked[3]);
  const lock = valueOf(asked[4]);
  const last = valueOf(asked[5]).at(-1);
  const live = nginx ?? (state.live ? { color: state.live.color, sha: state.live.sha } : null);
  const slots = {} as StatusReport["slots"];
  for (const c of COLORS) {
    const role = live?.color === c ? "live" : state.standby?.color === c ? "standby" : "idle";
    slots[c] = { sha: state.slots[c]?.sha ?? null, role, services: services[c] };
  }
  const now = ctx.now().getTime();
  return {
    app: ctx.config.app.name,
    live: live ? { ...live, since: state.live?.color === live.color ? state.live.since : null } : null,
    nginx,
    previous: state.previous,
    standby: state.standby
      ? {
          ...state.standby,
          secondsLeft: Math.max(0, Math.round((new Date(state.standby.until).getTime() - now) / 1000)),
        }
      : null,
    slots,
    preview: previewOf(ctx, live?.color ?? null, slots),
    staged: state.staged,
    lock,
    // only with [tls] on, so reports without it read as before
    ...(tls ? { tls } : {}),
    lastRun: last
      ? {
          id: last.id,
          command: last.command,
          startedAt: last.startedAt,
          outcome: last.outcome,
          trigger: last.trigger,
        }
      : null,
  };
}

function valueOf<T>(r: PromiseSettledResult<T>): T {
  if (r.status === "rejected") throw r.reason;
  return r.value;
}

function previewOf(
  ctx: Context,
  liveColor: Color | null,
  slots: StatusReport["slots"],
): StatusReport["preview"] {
  const url = previewUrl(ctx);
  if (!url || !liveColor) return null;
  const color = other(liveColor);
  return { url, color, sha: slots[color].sha };
}

export function formatStatus(r: StatusReport): string {
  const lines = [
    `app      ${r.app}`,
    `live     ${r.live ? `${r.live.color} ${r.live.sha.slice(0, 12)}${r.live.since ? ` since ${r.live.since}` : ""}` : "nothing deployed"}`,
  ];
  if (r.live && !r.nginx) lines.push("         (nginx does not answer /__rf-agent/live: is nginx running?)");
  if (r.preview) {
    lines.push(
      `preview  ${r.preview.url} shows ${r.preview.color} ${r.preview.sha ? r.preview.sha.slice(0, 12) : "(empty)"}`,
    );
  }
  if (r.tls) lines.push(formatTls(r.tls));
  if (r.staged)
    lines.push(`staged   ${r.staged.color} ${r.staged.sha.slice(0, 12)}: \`rf-agent switch\` puts it live`);
  if (r.standby) lines.push(`standby  ${r.standby.color}, ${r.standby.secondsLeft} s left`);
  for (const c of COLORS) {
    const slot = r.slots[c];
    lines.push(`${c.padEnd(8)} ${slot.sha ? slot.sha.slice(0, 12) : "(empty)"}  ${slot.role}`);
    for (const [name, s] of Object.entries(slot.services)) {
      lines.push(
        `  ${name.padEnd(8)} :${s.port}  ${s.state}${s.state.startsWith("active") ? (s.healthy ? "  healthy" : "  UNHEALTHY") : ""}`,
      );
    }
  }
  if (r.lastRun)
    lines.push(
      `last     ${r.lastRun.command} ${r.lastRun.outcome} at ${r.lastRun.startedAt} (${r.lastRun.trigger}, id ${r.lastRun.id})`,
    );
  lines.push(
    `lock     ${r.lock ? `held by pid ${r.lock.pid} (${r.lock.command}) since ${r.lock.since}` : "free"}`,
  );
  // A trigger names a webhook delivery id, the lock holder a command: text from others.
  return lines.map(printableLine).join("\n");
}
