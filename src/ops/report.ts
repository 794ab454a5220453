// After every recorded run: the metrics textfile and the notification. Neither may fail the run.
import { hostname } from "node:os";
import { writeAtomic } from "../adapters/files.js";
import { readHistory, type HistoryEntry } from "../adapters/history.js";
import { sendNotice } from "../adapters/notify.js";
import type { Context } from "../context.js";
import { renderMetrics } from "../core/metrics.js";
import { readState } from "./reconcile.js";

export async function writeMetrics(ctx: Context): Promise<void> {
  const file = ctx.config.metrics.textfile;
  if (!file) return;
  try {
    const text = renderMetrics(
      ctx.config.app.name,
      await readHistory(ctx.layout.stateDir),
      await readState(ctx),
      ctx.now(),
    );
    // node_exporter runs as its own user and must read it.
    await writeAtomic(file, text, 0o644);
  } catch (e) {
    ctx.log.warn(
      { file, err: e instanceof Error ? e.message : String(e) },
      "could not write the metrics textfile",
    );
  }
}

export async function afterRun(ctx: Context, entry: HistoryEntry): Promise<void> {
  await writeMetrics(ctx);
  const { url, timeoutSec } = ctx.config.notify;
  // A dry run is never recorded, so it never reaches here; a discard is recorded but not announced.
  if (!url || entry.outcome === "unchanged") return;
  if (entry.command !== "deploy" && entry.command !== "rollback" && entry.command !== "switch") return;
  await sendNotice(
    url,
    timeoutSec,
    {
      event: entry.command,
      outcome: entry.outcome,
      ok: entry.exitCode === 0,
      app: ctx.config.app.name,
      host: hostname(),
      id: entry.id,
      from: entry.from,
      to: entry.to,
      error: entry.error,
      durationMs: entry.ms,
    },
    ctx.log,
  );
}
