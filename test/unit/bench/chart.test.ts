import { describe, expect, it } from "vitest";
import { timelineSvg, type TimelinePanel } from "../../../bench/chart.js";

// 70 bins of 100 ms from -1 s to 6 s: 40 ok each, or 25 failed in [failFrom, failTo).
function bins(failFrom: number, failTo: number): TimelinePanel["bins"] {
  const out: TimelinePanel["bins"] = [];
  for (let t = -1000; t < 6000; t += 100) {
    const failing = t >= failFrom && t < failTo;
    out.push({ t, ok: failing ? 0 : 40, failed: failing ? 25 : 0, p99Ms: failing ? 2400 : 4 });
  }
  return out;
}

const rfDeploy: TimelinePanel = {
  title: "rf-agent deploy 1.0.0 -> 2.1.0",
  tool: "rf-agent",
  op: "deploy",
  bins: bins(3000, 3100), // one bin of failures
  versions: [
    { from: -1000, to: 3000, version: "1.0.0" },
    { from: 3000, to: 6000, version: "2.1.0" },
  ],
  sessions: [
    { t: -1000, open: 4 },
    { t: 4000, open: 3 }, // a session dropped
  ],
  steps: [
    { name: "fetch", start: 0, end: 800 },
    { name: "venv", start: 800, end: 2500 },
    { name: "config check", start: 900, end: 1200 }, // runs alongside venv
    { name: "switch nginx", start: 2990, end: 2994 }, // a few ms
    { name: "drain blue", start: 2994, end: 5000 },
  ],
  commandEnd: 5000,
};

const naiveDeploy: TimelinePanel = {
  title: "naive deploy 1.0.0 -> 2.1.0",
  tool: "naive",
  op: "deploy",
  bins: bins(1000, 4000),
  versions: [
    { from: -1000, to: 1000, version: "1.0.0" },
    { from: 1000, to: 1500, version: "HTTP 502" },
    { from: 1500, to: 4000, version: "no answer" },
    { from: 4000, to: 6000, version: "2.1.0" },
  ],
  sessions: [
    { t: -1000, open: 4 },
    { t: 1000, open: 0 },
  ],
  steps: [{ name: "git pull && systemctl restart", start: 0, end: 4500 }],
  commandEnd: 4500,
};

/** Tags left open or closed out of order: [] for well-nested markup. */
function unclosedTags(xml: string): string[] {
  const open: string[] = [];
  for (const [, close, name, selfClose] of xml.matchAll(/<(\/?)([\w:-]+)[^>]*?(\/?)>/g)) {
    if (selfClose) continue;
    if (!close) open.push(name ?? "");
    else if (open.pop() !== name) return [...open, `</${name}> out of order`];
  }
  return open;
}

const opts = { title: "Deploys under load", subtitle: "500 requests per second" };

describe("timelineSvg", () => {
  it("draws an SVG with the titles, every step and every version", async () => {
    const svg = await timelineSvg([rfDeploy, naiveDeploy], opts);
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    expect(unclosedTags(svg)).toEqual([]);
    const [, width, height] = /^<svg[^>]* width="(\d+)" height="(\d+)"/.exec(svg) ?? [];
    expect(Number(width)).toBeGreaterThan(1000);
    expect(Number(width)).toBeLessThan(1400);
    expect(Number(height)).toBeGreaterThan(300);
    for (const text of ["Deploys under load", "500 requests per second", "exit", "start"]) {
      expect(svg).toContain(`>${text}</text>`);
    }
    // Text is XML-escaped, so the SVG stays well formed.
    expect(svg).toContain(">rf-agent deploy 1.0.0 -&gt; 2.1.0</text>");
    expect(svg).toContain(">naive deploy 1.0.0 -&gt; 2.1.0</text>");
    expect(svg).toContain(">git pull &amp;&amp; systemctl restart</text>");
    for (const step of rfDeploy.steps) expect(svg).toContain(`>${step.name}</text>`);
    for (const version of ["1.0.0", "2.1.0", "HTTP 502", "no answer"]) {
      expect(svg).toContain(`>${version}</text>`);
    }
    expect(svg).toContain(">2,785 requests, 25 failed");
  });

  it("gives the same SVG for the same panels", async () => {
    const a = await timelineSvg([rfDeploy, naiveDeploy], opts);
    const b = await timelineSvg([rfDeploy, naiveDeploy], opts);
    expect(b).toBe(a);
    expect(await timelineSvg([rfDeploy, { ...naiveDeploy, commandEnd: 4600 }], opts)).not.toBe(a);
  });

  it("draws a panel without bins, versions, sessions or steps", async () => {
    const empty: TimelinePanel = {
      title: "naive rollback 2.1.0 -> 1.0.0",
      tool: "naive",
      op: "rollback",
      bins: [],
      versions: [],
      sessions: [],
      steps: [],
      commandEnd: 1500,
    };
    const svg = await timelineSvg([rfDeploy, { ...rfDeploy, steps: [], op: "rollback" }, empty], {
      title: "Sparse",
    });
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain(">naive rollback 2.1.0 -&gt; 1.0.0</text>");
    expect(svg).toContain(">0 requests, 0 failed");
  });
});
