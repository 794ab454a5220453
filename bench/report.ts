// Small pure helpers for bench.ts: failure windows, ratios, the table.

export interface FailureWindow {
  start: number;
  end: number;
  count: number;
}

/** Failure times (ms) grouped like load.mjs does: a gap of 1 s or more starts a new window. */
export function failureWindows(times: number[], gapMs = 1000): FailureWindow[] {
  const windows: FailureWindow[] = [];
  for (const t of [...times].sort((a, b) => a - b)) {
    const w = windows.at(-1);
    if (w && t - w.end < gapMs) {
      w.end = t;
      w.count++;
    } else {
      windows.push({ start: t, end: t, count: 1 });
    }
  }
  return windows;
}

export function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

export function fmtMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** a / b for the report: "∞" when only b is 0, "n/a (0 vs 0)" when both are. */
export function fmtRatio(a: number, b: number): string {
  if (!Number.isFinite(a) || !Number.isFinite(b)) return "n/a (not measured)";
  const show = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(0));
  if (a === 0 && b === 0) return "n/a (0 vs 0)";
  if (b === 0) return `∞ (${show(a)} vs 0)`;
  return `${(a / b).toFixed(2)}x (${show(a)} vs ${show(b)})`;
}

/** A plain text table: columns padded to their widest cell, numbers right-aligned. */
export function renderTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const numeric = (s: string) => /^[-\d.\s/()avg∞x]+$/.test(s) && /\d/.test(s);
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric(c) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  return [line(header), rule, ...rows.map(line)].join("\n");
}
