import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { appendHistory } from "../../../src/adapters/history.js";
import { logs, type LogsOptions } from "../../../src/commands/logs.js";
import { RfError } from "../../../src/errors.js";
import type { RunOptions } from "../../../src/exec/runner.js";
import { testConfig } from "../helpers/config.js";
import { dirsUnder, fakeContext, fakeRunner, tempDir } from "../helpers/fakes.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

const START = Date.UTC(2025, 0, 2, 13, 4, 5);

function line(message: string, invocation: string, extra: Record<string, string> = {}): string {
  return JSON.stringify({
    __REALTIME_TIMESTAMP: String(START * 1000),
    MESSAGE: message,
    _SYSTEMD_UNIT: "rf-agent-demo-deploy@timer.service",
    _SYSTEMD_INVOCATION_ID: invocation,
    ...extra,
  });
}
const pino = (deploy: string, msg: string) => JSON.stringify({ level: 30, time: START, deploy, msg });

const JOURNAL = [
  line(pino("aaaa0001", "rf-agent deploy (timer)"), "i1"),
  line(pino("aaaa0001", "✓ fetch (0.1 s)"), "i1"),
  line("rf-agent: the green color never became healthy", "i1", { PRIORITY: "3" }),
  line(pino("bbbb0002", "rf-agent deploy (webhook)"), "i2"),
];

/** journalctl that streams JOURNAL through onLine, recording its arguments. */
function journalctl() {
  return fakeRunner((_file, _args, options?: RunOptions) => {
    for (const l of JOURNAL) options?.onLine?.(l);
    return {};
  });
}

async function runLogs(opts: Partial<LogsOptions>, run = journalctl()) {
  const out: string[] = [];
  const ctx = fakeContext(testConfig(), { run, dirs: dirsUnder(dir) });
  await logs(ctx, { last: false, follow: false, lines: 100, print: (l) => out.push(l), ...opts });
  return { out, args: run.calls[0]?.args ?? [] };
}

async function ledger(id: string, trigger: string) {
  await appendHistory(dirsUnder(dir).stateRoot + "/demo", {
    id,
    command: "deploy",
    trigger,
    startedAt: new Date(START).toISOString(),
    ms: 12_000,
    from: null,
    to: null,
    outcome: "failed",
    exitCode: 1,
    steps: [],
  });
}

describe("rf-agent logs", () => {
  it("--last: every line of the last run, in the run's time window", async () => {
    await ledger("aaaa0001", "timer");
    const { out, args } = await runLogs({ last: true });
    expect(out).toEqual([
      "13:04:05 rf-agent deploy (timer)",
      "13:04:05 ✓ fetch (0.1 s)",
      "13:04:05 ERROR rf-agent: the green color never became healthy",
    ]);
    expect(args).toEqual([
      "--no-pager",
      "-o",
      "json",
      "--output-fields=MESSAGE,PRIORITY,_SYSTEMD_UNIT,_SYSTEMD_INVOCATION_ID,RF_COLOR,RF_DEPLOY,RF_JSON,SYSLOG_IDENTIFIER",
      "-u",
      "rf-agent-demo-deploy@*.service",
      `--since=@${START / 1000 - 5}`,
      `--until=@${START / 1000 + 12 + 30}`,
    ]);
  });

  it("--deploy ID: that run, also when the ledger does not know it yet (still running)", async () => {
    const { out, args } = await runLogs({ deploy: "bbbb0002" });
    expect(out).toEqual(["13:04:05 rf-agent deploy (webhook)"]);
    expect(args.some((a) => a.startsWith("--since"))).toBe(false);
  });

  it("says why a run from a terminal has no lines in the journal", async () => {
    await ledger("cccc0003", "cli (alice via ssh from 10.0.0.1)");
    const { out } = await runLogs({ last: true });
    expect(out).toEqual([
      "no journal lines of the deploy units for cccc0003: it ran from a terminal (cli (alice via ssh from 10.0.0.1)), so its lines went there, not to the journal",
    ]);
  });

  it("--color: the app's units of that color, by their RF_COLOR field", async () => {
    const { args } = await runLogs({ color: "green", lines: 50 });
    expect(args.slice(4)).toEqual(["RF_APP=demo", "RF_COLOR=green", "-n", "50"]);
  });

  it("without a filter: the agent's and the app's units, and --follow follows", async () => {
    const { args, out } = await runLogs({ follow: true });
    expect(args.slice(4)).toEqual([
      "-u",
      "rf-agent-demo-deploy@*.service",
      "-u",
      "rf-agent-demo-webhook.service",
      "-u",
      "demo-api@*.service",
      "-u",
      "demo-web@*.service",
      "-n",
      "100",
      "-f",
    ]);
    expect(out[0]).toBe("13:04:05 rf-agent-demo-deploy@timer  rf-agent deploy (timer)");
  });

  it("refuses --deploy with --last, and a color that is not one", async () => {
    await expect(runLogs({ deploy: "x", last: true })).rejects.toThrow(RfError);
    await expect(runLogs({ color: "red" })).rejects.toThrow(/--color must be blue or green/);
  });

  it("says so when there is no run yet", async () => {
    expect((await runLogs({ last: true })).out).toEqual(["no deploy or rollback in the history yet"]);
  });
});
