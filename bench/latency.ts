// Request latency from the load's samples (scripts/load.mjs --samples): percentiles of any window,
// the 100 ms bins of the timeline picture, and the open session count over time.
import type { LoadSamples } from "../scripts/lab/load.js";

/** The load's samples on the wall clock, sorted by send time. */
export interface Latencies {
  /** epoch ms each request was sent */
  at: Float64Array;
  /** send to answer, ms */
  ms: Float32Array;
  /** 1 answered as expected, 0 failed */
  ok: Uint8Array;
  /** open websocket sessions from each epoch ms on */
  sessions: { at: number; open: number }[];
}

export interface WindowLatency {
  /** requests sent in the window */
  n: number;
  failed: number;
  /** of the answered ones, ms; null when none was answered */
  p50: number | null;
  p99: number | null;
}

/** startEpoch: the wall clock's ms at the load's t = 0 (LoadTap.alignment). */
export function onWallClock(s: LoadSamples, startEpoch: number): Latencies {
  const order = s.t.map((_, i) => i).sort((a, b) => s.t[a]! - s.t[b]!);
  return {
    at: Float64Array.from(order, (i) => startEpoch + s.t[i]!),
    ms: Float32Array.from(order, (i) => s.latency100us[i]! / 10),
    ok: Uint8Array.from(order, (i) => s.ok[i]!),
    sessions: s.sessions.map(([t, open]) => ({ at: startEpoch + t, open })),
  };
}

/** The nearest-rank percentile of ascending values; null for none. */
export function percentile(sorted: ArrayLike<number>, p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** The first index whose send time is at or after t. */
function lowerBound(at: Float64Array, t: number): number {
  let lo = 0;
  let hi = at.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (at[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Requests sent in any of the windows [from, to) (epoch ms), pooled. */
export function windowLatency(l: Latencies, windows: readonly (readonly [number, number])[]): WindowLatency {
  const answered: number[] = [];
  let n = 0;
  let failed = 0;
  for (const [from, to] of windows) {
    for (let i = lowerBound(l.at, from); i < l.at.length && l.at[i]! < to; i++) {
      n++;
      if (l.ok[i]) answered.push(l.ms[i]!);
      else failed++;
    }
  }
  answered.sort((a, b) => a - b);
  const round = (x: number | null) => (x === null ? null : Math.round(x * 10) / 10);
  return { n, failed, p50: round(percentile(answered, 50)), p99: round(percentile(answered, 99)) };
}

export interface Bin {
  /** ms from origin to the bin's start */
  t: number;
  ok: number;
  failed: number;
  p99Ms: number | null;
}

/** binMs bins of the requests sent in [from, to), t relative to origin (epoch ms). */
export function bins(l: Latencies, from: number, to: number, origin: number, binMs = 100): Bin[] {
  const out: Bin[] = [];
  for (let start = from; start < to; start += binMs) {
    const w = windowLatency(l, [[start, Math.min(to, start + binMs)]]);
    out.push({ t: Math.round(start - origin), ok: w.n - w.failed, failed: w.failed, p99Ms: w.p99 });
  }
  return out;
}

/** The open session count at each change within [from, to), plus its value at from; t from origin. */
export function sessionSteps(
  l: Latencies,
  from: number,
  to: number,
  origin: number,
): { t: number; open: number }[] {
  let before = 0;
  const inside: { t: number; open: number }[] = [];
  for (const s of l.sessions) {
    if (s.at < from) before = s.open;
    else if (s.at < to) inside.push({ t: Math.round(s.at - origin), open: s.open });
  }
  return [{ t: Math.round(from - origin), open: before }, ...inside];
}
