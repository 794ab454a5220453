// Small checks the integration tests share: a shell step that must succeed, the version nginx
// serves, `rf-agent status --json`, and the ledger as `rf-agent history --json` prints it. The
// shapes are src's own (StatusReport, HistoryEntry), not copies.
import { expect } from "vitest";
import type { HistoryEntry } from "../../src/adapters/history.js";
import type { StatusReport } from "../../src/commands/status.js";
import type { TestServer } from "../../scripts/lab/server.js";

/** stdout of a script inside the server; the test fails (with its stderr) when it does not exit 0. */
export async function shOk(server: TestServer, script: string): Promise<string> {
  const r = await server.sh(script);
  expect(r.exitCode, `${script}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

/** The version and color the API answers through nginx. */
export async function served(server: TestServer): Promise<{ version: string; color: string }> {
  const r = await server.curl("/api/version");
  expect(r.status, r.body || r.error).toBe(200);
  return JSON.parse(r.body) as { version: string; color: string };
}

/** The version the API answers through nginx. */
export async function servedVersion(server: TestServer): Promise<string> {
  return (await served(server)).version;
}

/** `rf-agent status --json`; the test fails when it does not exit 0. */
export async function statusOf(server: TestServer): Promise<StatusReport> {
  const r = await server.rfAgent(["status", "--json"]);
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as StatusReport;
}

/** The last run in the ledger (`rf-agent history --json -n 1`). */
export async function lastRun(server: TestServer): Promise<HistoryEntry> {
  const [entry] = await historyOf(server, 1);
  expect(entry, "rf-agent history has no entry").toBeDefined();
  return entry!;
}

/** The last n history entries, oldest first. */
export async function historyOf(server: TestServer, n = 1000): Promise<HistoryEntry[]> {
  const r = await server.rfAgent(["history", "--json", "-n", String(n)]);
  expect(r.exitCode, r.stderr).toBe(0);
  return r.stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as HistoryEntry);
}
