// The single executable's entry (scripts/release.mjs): as cli.ts, but Node runs it from the code
// cache inside the executable, so it loads main.ts directly.
import { raisePriority } from "./exec/priority.js";
import { baselineWasmOnly } from "./exec/wasm-flags.js";

raisePriority();
baselineWasmOnly();
void import("./main.js");
