// The picture's data: one deploy and one rollback of each phase, as the load, the poller and rf-agent's
// own log saw them, on one time axis (ms from the command start).
import type { TimelinePanel } from "./chart.js";
import { bins, sessionSteps, type Latencies } from "./latency.js";
import type { Op } from "./operations.js";
import type { Poller } from "./poller-samples.js";

/** Context shown before the command starts and after the version is served. */
const BEFORE_MS = 1500;
const AFTER_MS = 2500;

/** The versions the poller saw served in [from, to), as segments from origin. */
function versionSegments(
  poller: Poller,
  from: number,
  to: number,
  origin: number,
): TimelinePanel["versions"] {
  const seen = poller.between("v", from, to).sort((a, b) => a.r - b.r);
  const segments: TimelinePanel["versions"] = [];
  for (const x of seen) {
    const version = x.st === 200 ? x.v.split("/")[0]! : x.st ? `HTTP ${x.st}` : "no answer";
    const at = Math.round(x.r - origin);
    const last = segments.at(-1);
    if (last && last.version === version) last.to = at;
    else {
      if (last) last.to = at;
      segments.push({ from: at, to: at, version });
    }
  }
  const last = segments.at(-1);
  if (last) last.to = Math.round(to - origin);
  return segments;
}

export function panelOf(op: Op, lat: Latencies, poller: Poller): TimelinePanel {
  const origin = op.startEpoch;
  const served = op.readyEpoch ?? op.endEpoch;
  const from = origin - BEFORE_MS;
  const to = Math.max(op.endEpoch, served) + AFTER_MS;
  const steps =
    op.phase === "rf-agent"
      ? [
          ...(op.cliStartMs != null ? [{ name: "node start", start: 0, end: op.cliStartMs }] : []),
          ...(op.steps ?? [])
            .filter((s) => s.endMs != null)
            .map((s) => ({ name: s.step, start: s.endMs! - s.ms, end: s.endMs! })),
        ]
      : [
          {
            name: op.op === "deploy" ? "git pull + restart" : "git reset + restart",
            start: 0,
            end: op.wallMs,
          },
        ];
  return {
    title: `${op.phase} ${op.op} ${op.fromVersion} -> ${op.expectVersion}`,
    tool: op.phase,
    op: op.op,
    bins: bins(lat, from, to, origin),
    versions: versionSegments(poller, from, to, origin),
    sessions: sessionSteps(lat, from, to, origin),
    steps,
    commandEnd: op.wallMs,
  };
}

/** The first deploy and rollback of each phase. */
export function timelinePanels(ops: Op[], lat: Latencies, poller: Poller): TimelinePanel[] {
  const pick = (phase: Op["phase"], kind: Op["op"]) => ops.find((o) => o.phase === phase && o.op === kind);
  return [
    pick("rf-agent", "deploy"),
    pick("naive", "deploy"),
    pick("rf-agent", "rollback"),
    pick("naive", "rollback"),
  ]
    .filter((o): o is Op => o !== undefined)
    .map((o) => panelOf(o, lat, poller));
}
