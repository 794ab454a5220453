// The bench's SVG timeline: a vega-lite spec built from the panels, rendered by vega without a browser.
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

export interface TimelinePanel {
  /** e.g. "rf-agent deploy 1.0.0 -> 2.1.0" */
  title: string;
  tool: "rf-agent" | "naive";
  op: "deploy" | "rollback";
  /** 100 ms bins of the load's requests by send time; t = ms from the command start (bin start), may be negative (context before the command starts) */
  bins: { t: number; ok: number; failed: number; p99Ms: number | null }[];
  /** the version served through nginx as seen by a poller, as segments in ms from the command start; an error is a version like "HTTP 502" or "no answer" */
  versions: { from: number; to: number; version: string }[];
  /** open Streamlit websocket sessions over time (step function), ms from the command start */
  sessions: { t: number; open: number }[];
  /** rf-agent's steps (ms from the command start); the naive panel has one step: its command */
  steps: { name: string; start: number; end: number }[];
  /** when the command exited, ms from the command start */
  commandEnd: number;
}

// Plain objects that vega-lite validates when it compiles; its own spec types are too deep to build piecewise.
type Spec = Record<string, unknown>;

const BIN_MS = 100;
const WIDTH = 1200;
const Y_LABELS_PX = 30; // every track's y labels get this width, so the tracks of a panel line up
const Y_AXIS_PX = 130; // and the track names left of them about this much more
const COLUMN_GAP = 36;
const LANE_PX = 15;
const MIN_MARK_PX = 3;
const CHAR_PX = 6; // vega estimates text widths without canvas; 10 px text is about this wide per character
const OK_COLOR = "#8fbf8f";
const FAILED_COLOR = "#d62728";
const VERSION_COLORS = ["#4c78a8", "#b279a2", "#72b7b2", "#9d755d", "#eeca3b", "#6b6ecf"];
const ERROR_COLORS = ["#d62728", "#8c1c1c", "#ff7f7f", "#e377c2"];
const NO_ANSWER_COLOR = "#7f7f7f";
const OPS = ["deploy", "rollback"] as const;
const TOOLS = ["rf-agent", "naive"] as const;

/** A version string that is a failure seen by the poller rather than a release. */
function isErrorVersion(version: string): boolean {
  return /^HTTP\s|no answer|error|timeout|refused/i.test(version);
}

export async function timelineSvg(
  panels: TimelinePanel[],
  opts: { title: string; subtitle?: string },
): Promise<string> {
  const vgSpec = compile(timelineSpec(panels, opts) as unknown as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(vgSpec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** The vega-lite spec: rows = op, columns = tool, each panel a stack of tracks over one x axis. */
function timelineSpec(panels: TimelinePanel[], opts: { title: string; subtitle?: string }): Spec {
  const rows = OPS.map((op) =>
    TOOLS.flatMap((tool) => panels.filter((p) => p.op === op && p.tool === tool)),
  ).filter((row) => row.length > 0);
  const columns = Math.max(1, ...rows.map((r) => r.length));
  const plotWidth = Math.floor((WIDTH - (columns - 1) * COLUMN_GAP) / columns) - Y_AXIS_PX - 10;
  const colors = versionColors(panels);
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: {
      text: opts.title,
      ...(opts.subtitle ? { subtitle: opts.subtitle } : {}),
      anchor: "start",
      fontSize: 18,
      subtitleFontSize: 12,
      offset: 14,
    },
    config: {
      font: "Helvetica, Arial, sans-serif",
      view: { stroke: "#ddd" },
      axis: { labelFontSize: 10, titleFontSize: 10, titleFontWeight: "normal", titleColor: "#555" },
      // Horizontal track names read better than rotated ones on tracks 20 px tall.
      axisY: {
        minExtent: Y_LABELS_PX,
        maxExtent: Y_LABELS_PX,
        titleAngle: 0,
        titleAlign: "right",
        titleBaseline: "middle",
        titlePadding: 6,
      },
      legend: { orient: "top", labelFontSize: 11, titleFontSize: 11, symbolType: "square" },
      concat: { spacing: 4 },
    },
    vconcat: rows.map((row) => ({
      hconcat: row.map((p) => panelSpec(p, scalesFor(row, plotWidth), plotWidth, colors)),
      spacing: COLUMN_GAP,
    })),
    spacing: 28,
    resolve: { scale: { color: "shared", fill: "shared" }, legend: { color: "shared", fill: "shared" } },
  };
}

/** y domains shared by the panels of one op so that rf-agent and naive compare honestly. */
interface OpScales {
  requestsMax: number;
  p99: [number, number];
  sessionsMax: number;
  lanes: number;
}

function scalesFor(row: TimelinePanel[], width: number): OpScales {
  const bins = row.flatMap((p) => p.bins);
  const p99s = bins.flatMap((b) => (b.p99Ms !== null && b.p99Ms > 0 ? [b.p99Ms] : []));
  const lo = p99s.length ? Math.min(...p99s) : 1;
  const hi = p99s.length ? Math.max(...p99s) : 1000;
  return {
    requestsMax: Math.max(1, ...bins.map((b) => b.ok + b.failed)),
    // Log from a power of ten below the fastest to one above the slowest: a 1 ms steady state and a 5 s stall both show.
    p99: [
      10 ** Math.floor(Math.log10(Math.max(lo, 0.1))),
      10 ** Math.ceil(Math.log10(Math.max(hi, lo * 10))),
    ],
    sessionsMax: Math.max(1, ...row.flatMap((p) => p.sessions.map((s) => s.open))),
    lanes: Math.max(
      1,
      ...row.flatMap((p) => stepLanes(p.steps, 1000 / pxPerSecond(p, width)).map((s) => s.lane + 1)),
    ),
  };
}

/** Releases get calm colours in order of first appearance, failures reds, "no answer" grey. */
function versionColors(panels: TimelinePanel[]): { domain: string[]; range: string[] } {
  const seen = [...new Set(panels.flatMap((p) => p.versions.map((v) => v.version)))];
  const good = seen.filter((v) => !isErrorVersion(v));
  const bad = seen.filter(isErrorVersion);
  const domain = [...good, ...bad];
  let errorIndex = 0;
  const range = [
    ...good.map((_, i) => VERSION_COLORS[i % VERSION_COLORS.length] ?? "#4c78a8"),
    ...bad.map((v) =>
      /no answer/i.test(v) ? NO_ANSWER_COLOR : (ERROR_COLORS[errorIndex++ % ERROR_COLORS.length] ?? "red"),
    ),
  ];
  return { domain, range };
}

function xDomain(p: TimelinePanel): [number, number] {
  const ts = p.bins.map((b) => b.t);
  const lo = Math.min(0, ...ts);
  const hi = Math.max(p.commandEnd, ...ts.map((t) => t + BIN_MS), ...p.steps.map((s) => s.end));
  return [lo / 1000, Math.max(hi, lo + 1000) / 1000];
}

function pxPerSecond(p: TimelinePanel, width: number): number {
  const [lo, hi] = xDomain(p);
  return width / (hi - lo);
}

function panelSpec(
  p: TimelinePanel,
  scales: OpScales,
  width: number,
  colors: { domain: string[]; range: string[] },
): Spec {
  const domain = xDomain(p);
  const pxPerS = pxPerSecond(p, width);
  const clamp = (s: number) => Math.min(domain[1], Math.max(domain[0], s));
  const x = (axis: boolean): Spec => ({
    field: "t",
    type: "quantitative",
    scale: { domain, nice: false, zero: false },
    axis: axis
      ? { title: "seconds from the command start", tickMinStep: 0.5, grid: true, gridColor: "#eee" }
      : { title: null, labels: false, ticks: false, domain: false, grid: true, gridColor: "#eee" },
  });
  const track = (height: number, layer: Spec[], axis = false, labelled = false): Spec => ({
    width,
    height,
    layer: [...layer, ...markers(p, domain, labelled)],
    encoding: { x: x(axis) },
  });

  const total = p.bins.reduce((n, b) => n + b.ok + b.failed, 0);
  const failed = p.bins.reduce((n, b) => n + b.failed, 0);
  const worst = Math.max(0, ...p.bins.map((b) => b.p99Ms ?? 0));
  const n = (x: number) => x.toLocaleString("en-US");
  // Short: vega sizes the picture by estimated text widths, which run wide without canvas.
  const subtitle = `${n(total)} requests, ${n(failed)} failed · worst p99 ${n(Math.round(worst))} ms · exit ${(p.commandEnd / 1000).toFixed(1)} s`;

  return {
    title: {
      text: p.title,
      subtitle,
      anchor: "start",
      fontSize: 14,
      subtitleColor: failed > 0 ? FAILED_COLOR : "#555",
      subtitleFontSize: 11,
      offset: 6,
    },
    vconcat: [
      track(70, requestsLayers(p, scales, MIN_MARK_PX / pxPerS), false, true),
      track(50, p99Layers(p, scales)),
      track(20, versionLayers(p, pxPerS, clamp, colors)),
      track(36, sessionLayers(p, scales, domain)),
      track(scales.lanes * LANE_PX + 4, stepLayers(p, scales, pxPerS, domain), true),
    ],
  };
}

/** Runs of consecutive bins with failures, in seconds, each at least minS wide. */
function failureSpans(bins: TimelinePanel["bins"], minS: number): { t: number; t2: number }[] {
  const spans: { t: number; t2: number }[] = [];
  for (const b of [...bins].filter((b) => b.failed > 0).sort((x, y) => x.t - y.t)) {
    const last = spans.at(-1);
    const t = b.t / 1000;
    const t2 = (b.t + BIN_MS) / 1000;
    if (last && t <= last.t2 + 1e-9) last.t2 = Math.max(last.t2, t2);
    else spans.push({ t, t2 });
  }
  return spans.map((s) => ({ t: s.t, t2: Math.max(s.t2, s.t + minS) }));
}

function requestsLayers(p: TimelinePanel, scales: OpScales, minS: number): Spec[] {
  const bars = p.bins.flatMap((b) => {
    const t = b.t / 1000;
    const t2 = (b.t + BIN_MS) / 1000;
    return [
      { t, t2, kind: "ok", y: 0, y2: b.ok },
      ...(b.failed > 0 ? [{ t, t2, kind: "failed", y: b.ok, y2: b.ok + b.failed }] : []),
    ];
  });
  const failures = failureSpans(p.bins, minS);
  const y = {
    field: "y",
    type: "quantitative",
    scale: { domain: [0, scales.requestsMax], nice: false },
    axis: { title: "req / 100 ms", tickCount: 3, tickMinStep: 1, grid: false },
  };
  return [
    // A failed request is a pixel tall at most: a full-height red band (3 px at least) marks its time.
    {
      data: { values: failures },
      mark: { type: "rect", color: FAILED_COLOR, opacity: 0.22 },
      encoding: { x2: { field: "t2" } },
    },
    {
      data: { values: failures },
      mark: { type: "rect", color: FAILED_COLOR },
      encoding: { x2: { field: "t2" }, y: { value: 0 }, y2: { value: 5 } },
    },
    {
      data: { values: bars },
      mark: { type: "rect" },
      encoding: {
        x2: { field: "t2" },
        y,
        y2: { field: "y2" },
        color: {
          field: "kind",
          type: "nominal",
          title: "requests",
          scale: { domain: ["ok", "failed"], range: [OK_COLOR, FAILED_COLOR] },
          legend: { orient: "top", direction: "horizontal" },
        },
      },
    },
  ];
}

function p99Layers(p: TimelinePanel, scales: OpScales): Spec[] {
  const points = p.bins.map((b) => ({ t: (b.t + BIN_MS / 2) / 1000, p99: b.p99Ms }));
  return [
    {
      data: { values: points },
      // A bin without requests breaks the line instead of joining its neighbours.
      mark: { type: "line", color: "#333", strokeWidth: 1.2, invalid: "break-paths-show-domains" },
      encoding: {
        y: {
          field: "p99",
          type: "quantitative",
          scale: { type: "log", domain: scales.p99, nice: false, clamp: true },
          axis: { title: "p99 ms (log)", tickCount: 3, grid: true, gridColor: "#eee", format: "~s" },
        },
      },
    },
  ];
}

function versionLayers(
  p: TimelinePanel,
  pxPerS: number,
  clamp: (s: number) => number,
  colors: { domain: string[]; range: string[] },
): Spec[] {
  const segments = p.versions
    .map((v) => ({ t: clamp(v.from / 1000), t2: clamp(v.to / 1000), version: v.version }))
    .filter((v) => v.t2 > v.t);
  const labels = segments
    .filter((v) => (v.t2 - v.t) * pxPerS >= v.version.length * CHAR_PX + 8)
    .map((v) => ({ t: (v.t + v.t2) / 2, version: v.version }));
  return [
    {
      data: { values: segments },
      mark: { type: "rect" },
      encoding: {
        x2: { field: "t2" },
        fill: {
          field: "version",
          type: "nominal",
          title: "version served",
          scale: colors,
          legend: colors.domain.length ? { orient: "top", direction: "horizontal" } : null,
        },
      },
    },
    {
      data: { values: labels },
      mark: { type: "text", color: "white", fontSize: 10, fontWeight: "bold", baseline: "middle" },
      encoding: { text: { field: "version" }, y: { value: 10 } },
    },
    // An invisible point keeps the same y axis (width and title) as the other tracks.
    ...bandAxis("version"),
  ];
}

function sessionLayers(p: TimelinePanel, scales: OpScales, domain: [number, number]): Spec[] {
  const points = p.sessions.map((s) => ({ t: s.t / 1000, open: s.open }));
  const last = points.at(-1);
  // Hold the last count to the right edge so a step function does not stop short.
  if (last && last.t < domain[1]) points.push({ t: domain[1], open: last.open });
  const y = {
    field: "open",
    type: "quantitative",
    scale: { domain: [0, scales.sessionsMax], nice: false },
    axis: { title: "ws open", tickCount: Math.min(3, scales.sessionsMax), format: "d", grid: false },
  };
  return [
    {
      data: { values: points },
      mark: { type: "area", interpolate: "step-after", color: "#9ecae1", opacity: 0.5 },
      encoding: { y },
    },
    {
      data: { values: points },
      mark: { type: "line", interpolate: "step-after", color: "#3182bd", strokeWidth: 1.5 },
      encoding: { y },
    },
  ];
}

/** Steps on lanes: a step takes the first lane free for its bar and its label, so none overlap. */
function stepLanes(
  steps: { name: string; start: number; end: number }[],
  msPerPx: number,
): { name: string; start: number; end: number; lane: number }[] {
  const laneEnds: number[] = [];
  return [...steps]
    .map((s, i) => ({ s, i }))
    .sort((a, b) => a.s.start - b.s.start || a.i - b.i)
    .map(({ s }) => {
      const reach = Math.max(s.end, s.start + (s.name.length * CHAR_PX + 10) * msPerPx);
      let lane = laneEnds.findIndex((end) => end <= s.start);
      if (lane < 0) lane = laneEnds.length;
      laneEnds[lane] = reach;
      return { ...s, lane };
    });
}

function stepLayers(p: TimelinePanel, scales: OpScales, pxPerS: number, domain: [number, number]): Spec[] {
  const minS = MIN_MARK_PX / pxPerS; // a step of a few ms still gets a visible bar
  const steps = stepLanes(p.steps, 1000 / pxPerS).map((s) => ({
    t: s.start / 1000,
    t2: Math.max(s.end / 1000, s.start / 1000 + minS),
    lane: s.lane,
    name: s.name,
    ms: s.end - s.start,
  }));
  // Label to the right of the bar's start; near the right edge, to the left of its end instead.
  const labels = steps.map((s) => {
    const room = (domain[1] - s.t) * pxPerS >= s.name.length * CHAR_PX + 8;
    return { ...s, t: room ? s.t : s.t2, align: room ? "left" : "right" };
  });
  const y = {
    field: "lane",
    type: "ordinal",
    scale: { domain: [...Array(scales.lanes).keys()], paddingInner: 0.15, paddingOuter: 0.1 },
    axis: { title: "steps", labels: false, ticks: false, domain: false },
  };
  return [
    {
      data: { values: steps },
      mark: { type: "rect", color: "#fdd49e", stroke: "#d94801", strokeWidth: 0.8 },
      encoding: { x2: { field: "t2" }, y },
    },
    {
      data: { values: labels.filter((l) => l.align === "left") },
      mark: { type: "text", align: "left", dx: 3, fontSize: 10, color: "#333", baseline: "middle" },
      encoding: { y, text: { field: "name" } },
    },
    {
      data: { values: labels.filter((l) => l.align === "right") },
      mark: { type: "text", align: "right", dx: -3, fontSize: 10, color: "#333", baseline: "middle" },
      encoding: { y, text: { field: "name" } },
    },
  ];
}

/** A band track (no numeric y) still gets a titled y axis of the common width. */
function bandAxis(title: string): Spec[] {
  return [
    {
      data: { values: [{ t: 0, y: "" }] },
      mark: { type: "point", opacity: 0 },
      encoding: {
        y: { field: "y", type: "nominal", axis: { title, labels: false, ticks: false, domain: false } },
      },
    },
  ];
}

/** Dashed rules at the command's start and exit through every track; the top track names them. */
function markers(p: TimelinePanel, domain: [number, number], labelled: boolean): Spec[] {
  const at = [
    { t: 0, label: "start" },
    { t: p.commandEnd / 1000, label: "exit" },
  ].filter((m) => m.t >= domain[0] && m.t <= domain[1]);
  const nearEnd = (t: number) => t > domain[0] + 0.9 * (domain[1] - domain[0]);
  const rules: Spec = {
    data: { values: at },
    mark: { type: "rule", color: "#555", strokeDash: [4, 3], strokeWidth: 1 },
  };
  if (!labelled) return [rules];
  return [
    rules,
    ...[false, true].map((right) => ({
      data: { values: at.filter((m) => nearEnd(m.t) === right) },
      mark: {
        type: "text",
        align: right ? "right" : "left",
        dx: right ? -3 : 3,
        baseline: "top",
        fontSize: 10,
        color: "#333",
      },
      encoding: { text: { field: "label" }, y: { value: 2 } },
    })),
  ];
}
