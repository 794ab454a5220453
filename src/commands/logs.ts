// rf-agent logs: the journal of the agent's units (deploy runs, webhook listener) and the app's
// units, filtered to one deploy (its id is on each of its JSON lines) or one color (RF_COLOR).
import { readHistory, type HistoryEntry } from "../adapters/history.js";
import { COLORS } from "../config/types.js";
import type { Context } from "../context.js";
import { isColor } from "../core/layout.js";
import { RfError } from "../errors.js";
import { colorFilter, DeployFilter, FIELDS, formatEntry, parseEntry, type Entry } from "../logs/entries.js";
import { triggerLayout, type TriggerLayout } from "../triggers/layout.js";

export interface LogsOptions {
  deploy?: string;
  last: boolean;
  color?: string;
  follow: boolean;
  /** Lines of the journal's end to show when not selecting a deploy. */
  lines: number;
  print: (line: string) => void;
  layout?: TriggerLayout;
}

const toSec = (ms: number) => Math.floor(ms / 1000);

export async function logs(ctx: Context, opts: LogsOptions): Promise<number> {
  const { app } = ctx.config;
  const tl = opts.layout ?? triggerLayout(app.name);
  if (opts.deploy && opts.last) throw new RfError("USAGE", "logs: give --deploy ID or --last, not both");
  if (opts.color !== undefined && !isColor(opts.color)) {
    throw new RfError("USAGE", `logs: --color must be ${COLORS.join(" or ")}, got "${opts.color}"`);
  }
  let id = opts.deploy;
  let run: HistoryEntry | undefined;
  if (opts.last || id) {
    const history = await readHistory(ctx.layout.stateDir).catch((e: unknown) => {
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

  const deployUnits = tl.deployTemplate.replace("@.service", "@*.service");
  const appUnits = ctx.config.services.map((s) => ctx.layout.template(s).replace("@.service", "@*.service"));
  const args = ["--no-pager", "-o", "json", `--output-fields=${FIELDS.join(",")}`];
  if (id) args.push("-u", deployUnits);
  else if (opts.color) args.push(`RF_APP=${app.name}`, `RF_COLOR=${opts.color}`);
  else args.push("-u", deployUnits, "-u", tl.listener, ...appUnits.flatMap((u) => ["-u", u]));
  // The ledger knows when the run was: no need to read the whole journal for it.
  if (run) {
    const start = new Date(run.startedAt).getTime();
    args.push(`--since=@${toSec(start) - 5}`);
    if (!opts.follow) args.push(`--until=@${toSec(start + run.ms) + 30}`);
  }
  if (!id) args.push("-n", String(opts.lines));
  if (opts.follow) args.push("-f");

  const byDeploy = id ? new DeployFilter(id) : null;
  const byColor = opts.color ? colorFilter(opts.color) : null;
  const mixed = !id;
  const show = (e: Entry) => opts.print(formatEntry(e, { unit: mixed }));
  const pass = (e: Entry) => byColor === null || byColor(e);
  let shown = 0;
  const collected: Entry[] = [];
  const onLine = (line: string) => {
    const e = parseEntry(line);
    if (!e) return;
    if (byDeploy && !opts.follow) collected.push(e);
    else if ((!byDeploy || byDeploy.pass(e)) && pass(e)) {
      show(e);
      shown++;
    }
  };
  const r = await ctx.run("journalctl", args, { reject: false, onLine });
  if (r.exitCode !== 0 && r.exitCode !== 1 && r.stderr) {
    throw new RfError("COMMAND", `journalctl failed: ${r.stderr.trim().split("\n")[0]}`, {
      hint: "run rf-agent logs as root (or a member of systemd-journal)",
    });
  }
  if (byDeploy && !opts.follow) {
    for (const e of byDeploy.select(collected).filter(pass)) {
      show(e);
      shown++;
    }
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
