// The load's counters at a moment: SIGUSR1 makes load.mjs print its summary so far, and its first
// line dates its start; together they put the load's own clock on the wall clock.
import type { Load, LoadSummary } from "../scripts/lab/load.js";
import { eachLine } from "../scripts/lab/lines.js";
import type { TestServer } from "../scripts/lab/server.js";
import { sleep, waitFor } from "./waiting.js";

export interface Snapshot {
  /** load time (ms since load start) when the load computed it */
  t: number;
  sent: number;
  failed: number;
  retried: number;
  sessionsOpened: number;
  dropped: number;
  askedAt: number;
  gotAt: number;
}

/** Watches load.mjs's stderr: its first line dates its start; SIGUSR1 summaries give counters at a moment. */
export class LoadTap {
  firstLineAt: number | null = null;
  private waiters: ((s: LoadSummary, at: number) => void)[] = [];
  readonly snapshots: Snapshot[] = [];
  readonly log: string[] = [];
  private pid = 0;

  constructor(
    private readonly server: TestServer,
    readonly load: Load,
  ) {
    void eachLine(load.process.stderr, (line, at) => {
      this.firstLineAt ??= at;
      if (line.startsWith("{")) {
        try {
          const s = JSON.parse(line) as LoadSummary;
          this.waiters.shift()?.(s, at);
        } catch {
          // a line we cannot read is not a snapshot
        }
      } else if (line.trim()) this.log.push(line);
    });
  }

  async started(): Promise<void> {
    await waitFor("the load to start", () => this.firstLineAt !== null, 30_000);
    // The load we started is the only load.mjs in this server's own pid namespace.
    const r = await this.server.exec("pgrep", ["-f", "--", "scripts/load.mjs"], { reject: true });
    const pids = r.stdout.split("\n").filter(Boolean);
    if (pids.length !== 1) throw new Error(`expected one load.mjs in the server, found: ${r.stdout}`);
    this.pid = Number(pids[0]);
  }

  async snapshot(): Promise<Snapshot> {
    const got = new Promise<[LoadSummary, number]>((resolve) =>
      this.waiters.push((s, at) => resolve([s, at])),
    );
    const askedAt = Date.now();
    await this.server.exec("kill", ["-USR1", String(this.pid)], { reject: true });
    const [s, gotAt] = await Promise.race([
      got,
      sleep(15_000).then(() => {
        throw new Error("load.mjs did not answer SIGUSR1 within 15 s");
      }),
    ]);
    const snap: Snapshot = {
      t: s.durationMs,
      sent: s.requests.sent,
      failed: s.requests.failed,
      retried: s.requests.retried,
      sessionsOpened: s.sessions.opened,
      dropped: s.sessions.dropped,
      askedAt,
      gotAt,
    };
    this.snapshots.push(snap);
    return snap;
  }

  /** Wall-clock ms of the load's t = 0, bracketed by every observation we have. */
  alignment(): { startEpoch: number; uncertaintyMs: number; low: number; high: number } {
    let low = -Infinity;
    let high = this.firstLineAt ?? Infinity;
    for (const s of this.snapshots) {
      low = Math.max(low, s.askedAt - s.t);
      high = Math.min(high, s.gotAt - s.t);
    }
    if (!Number.isFinite(low)) low = high - 50;
    return { startEpoch: (low + high) / 2, uncertaintyMs: Math.max(0, (high - low) / 2), low, high };
  }
}
