#!/usr/bin/env node
// The entry point (dist/cli.js): first the process's priority, then rf-agent's code, one CommonJS
// bundle of src/main.ts and all it imports, compiled at that priority and from V8's code cache when
// root has one (boot/code-cache.ts).
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runBundle } from "./boot/code-cache.js";
import { MARK, mark } from "./boot/start-marks.js";
import { raisePriority } from "./exec/priority.js";
import { baselineWasmOnly } from "./exec/wasm-flags.js";

// The bundle's file name beside this one, set by scripts/bundle.mjs: it carries its content hash.
declare const __RF_AGENT_BUNDLE__: string;

mark(MARK.cli);
raisePriority();
baselineWasmOnly();
const bundle = path.join(path.dirname(fileURLToPath(import.meta.url)), __RF_AGENT_BUNDLE__);
try {
  runBundle(bundle, process.argv.slice(2), { dir: process.env.RF_AGENT_CODE_CACHE || undefined });
} catch (e) {
  const err = e as NodeJS.ErrnoException;
  // Only a missing or unreadable bundle ends here; errors of rf-agent's own are main.ts's to report.
  if (err?.path !== bundle) throw e;
  process.stderr.write(
    `rf-agent: cannot read its own code at ${bundle} (${err.code ?? err.message})\n  fix: this installation of rf-agent is incomplete: install it again (in a checkout: npm ci && npm run build)\n`,
  );
  process.exit(1);
}
