// The commands people run to look (status, history, logs -n 20): each one's wall time and peak memory,
// measured inside the server (no nsenter in the figure) under the profile's load, after the rf-agent
// runs: the last rollback left the color it came from as the warm standby, so both colors run and
// `status` asks the most of systemd and of the services' health.
import type { TestServer } from "../scripts/lab/server.js";
import { statOf } from "./analysis.js";
import { READ_ONLY_BELOW_MB, READ_ONLY_BELOW_MS } from "./settings.js";

export const READ_ONLY_COMMANDS = [["status"], ["history"], ["logs", "-n", "20"]] as const;

export interface ReadOnlyRun {
  command: string;
  exitCode: number;
  ms: number;
  /** peak resident memory (GNU time's %M) */
  rssKb: number;
}

// $EPOCHREALTIME around GNU time, which gives the peak RSS; its last line is %M even when the
// command failed (then a line before it says so).
const MEASURE = `out=$(mktemp)
t0=$EPOCHREALTIME
/usr/bin/time -f %M -o "$out" rf-agent "$@" >/dev/null 2>&1
code=$?
t1=$EPOCHREALTIME
echo "$code $t0 $t1 $(tail -n 1 "$out")"
rm -f "$out"`;

/** `times` rounds of every command, one after another, so a slow moment of the load hits all of them. */
export async function readOnlyRuns(server: TestServer, times: number): Promise<ReadOnlyRun[]> {
  const runs: ReadOnlyRun[] = [];
  for (let i = 0; i < times; i++) {
    for (const args of READ_ONLY_COMMANDS) {
      const r = await server.exec("bash", ["-c", MEASURE, "measure", ...args]);
      const [code, t0, t1, rss] = r.stdout.trim().split(/\s+/);
      runs.push({
        command: args.join(" "),
        exitCode: Number(code ?? -1),
        ms: Math.round((Number(t1) - Number(t0)) * 1000),
        rssKb: Number(rss),
      });
    }
  }
  return runs;
}

/** One target per command: median wall time and the largest peak memory of its runs. */
export function readOnlyTargets(runs: ReadOnlyRun[]) {
  return READ_ONLY_COMMANDS.map((args) => {
    const command = args.join(" ");
    const mine = runs.filter((r) => r.command === command);
    const times = mine.map((r) => r.ms);
    const median = statOf(times, "median");
    const p95 = statOf(times, "p95");
    const peakMb = Math.max(...mine.map((r) => r.rssKb)) / 1024;
    const failed = mine.filter((r) => r.exitCode !== 0).length;
    return {
      target: `\`rf-agent ${command}\`: median < ${READ_ONLY_BELOW_MS} ms and peak memory < ${READ_ONLY_BELOW_MB} MB`,
      pass:
        mine.length > 0 &&
        failed === 0 &&
        median !== null &&
        median < READ_ONLY_BELOW_MS &&
        peakMb < READ_ONLY_BELOW_MB,
      measured:
        `median ${median ?? "-"} ms, p95 ${p95 ?? "-"} ms, peak RSS ${peakMb.toFixed(1)} MB over ${mine.length} runs` +
        (failed ? ` (${failed} exited non-zero)` : ""),
    };
  });
}
