// rf-agent logs: the journal of the agent's units (deploy runs, webhook listener) and the app's
// units, filtered to one deploy (its id is on each of its JSON lines) or one color (RF_COLOR).
import { COLORS } from "../config/types.js";
import type { Context } from "../context.js";
import { isColor } from "../core/layout.js";
import { RfError } from "../errors.js";
import { colorFilter, DeployFilter, formatEntry, type Entry } from "../core/log-entries.js";
import { runHistory, type HistoryEntry } from "../ops/history.js";
import { journalEntries, type JournalQuery } from "../ops/journal.js";

export interface LogsOptions {
  deploy?: string;
  last: boolean;
  color?: string;
  follow: boolean;
  /** Lines of the journal's end to show when not selecting a deploy. */
  lines: number;
  print: (line: string) => void;
}

const toSec = (ms: number) => Math.floor(ms / 1000);

export async function logs(ctx: Context, opts: LogsOptions): Promise<number> {
  if (opts.deploy && opts.last) throw new RfError("USAGE", "logs: give --deploy ID or --last, not both");
  if (opts.color !== undefined && !isColor(opts.color)) {
    throw new RfError("USAGE", `logs: --color must be ${COLORS.join(" or ")}, got "${opts.color}"`);
  }
  let id = opts.deploy;
  let run: HistoryEntry | undefined;
  if (opts.last || id) {
    const history = await runHistory(ctx).catch((e: unknown) => {
      throw new RfError(
        "USAGE",
        `logs: cannot read the history in ${ctx.layout.stateDir}: ${(e as Error).message}`,
        {
          hint: "the ledger is root's: run it with sudo",
          exitCode: 1,
        },
      );
    });
    run = opts.last ? history.at(-1) : history.find((h) => h.id === id);
    if (opts.last && !run) {
      opts.print("no deploy or rollback in the history yet");
      return 0;
    }
    id = run?.id ?? id;
  }

  const byDeploy = id ? new DeployFilter(id) : null;
  const byColor = opts.color ? colorFilter(opts.color) : null;
  const mixed = !id;
  const show = (e: Entry) => opts.print(formatEntry(e, { unit: mixed }));
  const pass = (e: Entry) => byColor === null || byColor(e);
  let shown = 0;
  const collected: Entry[] = [];
  // The ledger knows when the run was: no need to read the whole journal for it.
  const query: JournalQuery = { deployUnits: Boolean(id), color: opts.color, follow: opts.follow };
  if (run) {
    const start = new Date(run.startedAt).getTime();
    query.since = toSec(start) - 5;
    if (!opts.follow) query.until = toSec(start + run.ms) + 30;
  }
  if (!id) query.lines = opts.lines;
  await journalEntries(ctx, query, (e) => {
    if (byDeploy && !opts.follow) collected.push(e);
    else if ((!byDeploy || byDeploy.pass(e)) && pass(e)) {
      show(e);
      shown++;
    }
  });
  if (byDeploy && !opts.follow) {
    for (const e of byDeploy.select(collected).filter(pass)) {
      show(e);
      shown++;
    }
  }
  if (shown === 0 && !id && process.getuid?.() !== 0) {
    // journalctl shows a user only their own lines, and says so only on a terminal
    opts.print(
      "no journal lines this user may read: run it with sudo, or add the user to the systemd-journal group",
    );
  }
  if (shown === 0 && id) {
    const where =
      run && !/^(timer|webhook)/.test(run.trigger)
        ? `: it ran from a terminal (${run.trigger}), so its lines went there, not to the journal`
        : run
          ? ""
          : ": no such id in the history (rf-agent history lists them)";
    opts.print(`no journal lines of the deploy units for ${id}${where}`);
  }
  return 0;
}
