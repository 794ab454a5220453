// The journal lines `rf-agent logs` shows: of the agent's deploy units, its webhook listener and the
// app's units, read with journalctl and parsed into entries (src/core/log-entries.ts).
import { readJournal } from "../adapters/journal.js";
import type { Context } from "../context.js";
import { FIELDS, parseEntry, type Entry } from "../core/log-entries.js";

export interface JournalQuery {
  /** Only the deploy units' lines (a deploy id is filtered by the caller). */
  deployUnits?: boolean;
  /** Only the app's lines of this color. */
  color?: string;
  /** Seconds since the epoch. */
  since?: number;
  until?: number;
  /** The journal's last lines. */
  lines?: number;
  follow: boolean;
}

const anyInstance = (template: string) => template.replace("@.service", "@*.service");

/** Each entry as journalctl prints it (with `follow`, until it is stopped). */
export async function journalEntries(
  ctx: Context,
  query: JournalQuery,
  onEntry: (e: Entry) => void,
): Promise<void> {
  const { app } = ctx.config;
  const tl = ctx.layout.triggers;
  const deployUnits = anyInstance(tl.deployTemplate);
  const appUnits = ctx.config.services.map((s) => anyInstance(ctx.layout.template(s)));
  const args = [`--output-fields=${FIELDS.join(",")}`];
  if (query.deployUnits) args.push("-u", deployUnits);
  else if (query.color) args.push(`RF_APP=${app.name}`, `RF_COLOR=${query.color}`);
  else args.push("-u", deployUnits, "-u", tl.listener, ...appUnits.flatMap((u) => ["-u", u]));
  if (query.since !== undefined) args.push(`--since=@${query.since}`);
  if (query.until !== undefined) args.push(`--until=@${query.until}`);
  if (query.lines !== undefined) args.push("-n", String(query.lines));
  if (query.follow) args.push("-f");
  await readJournal(ctx.run, args, (line) => {
    const e = parseEntry(line);
    if (e) onEntry(e);
  });
}
