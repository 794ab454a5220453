// `diff -u` of a file against what rf-agent would write, for --dry-run.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { printable } from "../core/printable.js";
import type { Runner } from "../exec/runner.js";

export async function fileDiff(
  run: Runner,
  file: string,
  before: string | null,
  after: string,
): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "rf-agent-diff-"));
  try {
    const a = path.join(dir, "before");
    const b = path.join(dir, "after");
    await writeFile(a, before ?? "");
    await writeFile(b, after);
    const r = await run(
      "diff",
      ["-u", "--label", before === null ? "/dev/null" : file, "--label", file, a, b],
      {
        reject: false,
      },
    );
    // The file on disk may hold anything; the diff is printed to a terminal.
    return printable(r.stdout);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
