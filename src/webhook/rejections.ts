// Refused requests are logged in aggregate: the first few of an interval one by one, the rest only
// counted, then one summary line (counts by reason and by status). A flood of forged deliveries
// thus writes a handful of lines, and journald's rate limit never drops the lines that matter.
import type { Logger } from "../log.js";

export interface Rejection {
  /** The status answered; null when the connection was dropped without an answer. */
  status: number | null;
  reason: string;
  /** The request's fields for a line of its own (method, path, remote...). */
  fields?: Record<string, unknown>;
  msg: string;
}

export interface RejectionLogOptions {
  log: Logger;
  /** Refusals logged one by one per interval; the rest are counted. */
  individually?: number;
  intervalMs?: number;
  /** Runs fn after ms; returns a cancel. Tests pass a fake clock. */
  schedule?: (fn: () => void, ms: number) => () => void;
  now?: () => Date;
}

export const REJECTIONS_LOGGED_EACH = 5;
export const REJECTIONS_INTERVAL_MS = 60_000;

interface Window {
  since: Date;
  total: number;
  logged: number;
  byReason: Record<string, number>;
  byStatus: Record<string, number>;
  cancel: () => void;
}

function defaultSchedule(fn: () => void, ms: number): () => void {
  const t = setTimeout(fn, ms);
  t.unref();
  return () => clearTimeout(t);
}

export class RejectionLog {
  private window: Window | null = null;
  private readonly each: number;
  private readonly intervalMs: number;
  private readonly schedule: NonNullable<RejectionLogOptions["schedule"]>;
  private readonly now: () => Date;

  constructor(private readonly opts: RejectionLogOptions) {
    this.each = opts.individually ?? REJECTIONS_LOGGED_EACH;
    this.intervalMs = opts.intervalMs ?? REJECTIONS_INTERVAL_MS;
    this.schedule = opts.schedule ?? defaultSchedule;
    this.now = opts.now ?? (() => new Date());
  }

  note(r: Rejection): void {
    const w = (this.window ??= {
      since: this.now(),
      total: 0,
      logged: 0,
      byReason: {},
      byStatus: {},
      cancel: this.schedule(() => this.flush(), this.intervalMs),
    });
    w.total++;
    w.byReason[r.reason] = (w.byReason[r.reason] ?? 0) + 1;
    const status = r.status === null ? "none" : String(r.status);
    w.byStatus[status] = (w.byStatus[status] ?? 0) + 1;
    if (w.logged < this.each) {
      w.logged++;
      this.opts.log.warn({ ...r.fields, status: r.status, reason: r.reason }, r.msg);
    }
  }

  /** Ends the interval: one summary line if some refusals were only counted. */
  flush(): void {
    const w = this.window;
    if (!w) return;
    this.window = null;
    w.cancel();
    if (w.total <= w.logged) return;
    const seconds = Math.max(1, Math.round((this.now().getTime() - w.since.getTime()) / 1000));
    this.opts.log.warn(
      {
        rejected: w.total,
        notLogged: w.total - w.logged,
        byReason: w.byReason,
        byStatus: w.byStatus,
        since: w.since.toISOString(),
      },
      `refused ${w.total} requests in ${seconds} s (${w.total - w.logged} not logged one by one)`,
    );
  }
}
