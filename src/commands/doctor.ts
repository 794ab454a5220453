// rf-agent doctor: is this host ready for a first deploy? Each failed check says what to run
// (the checks are src/ops/host-checks.ts).
import type { Context } from "../context.js";
import { printableLine } from "../core/printable.js";
import { runHostChecks, type CheckResult } from "../ops/host-checks.js";

export type { CheckResult };
export { PYTHON_CHECK } from "../ops/host-checks.js";

export async function doctor(ctx: Context): Promise<CheckResult[]> {
  return [{ title: `config ${ctx.config.source} is valid`, ok: true }, ...(await runHostChecks(ctx))];
}

export function formatChecks(results: CheckResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`${r.ok ? "✓" : "✗"} ${r.title}${r.ok && r.detail ? ` (${r.detail})` : ""}`);
    if (!r.ok && r.detail) lines.push(...r.detail.split("\n").map((l) => `    ${l}`));
    if (!r.ok && r.fix) lines.push(`    fix: ${r.fix}`);
  }
  const failed = results.filter((r) => !r.ok).length;
  lines.push(failed ? `${failed} of ${results.length} checks failed` : `all ${results.length} checks passed`);
  // Details quote others: a git server's error, a port holder's command line.
  return lines.map(printableLine).join("\n");
}
