// undici, loaded on first use: evaluating it costs ~80 ms, which a command that never makes an HTTP
// request (history, logs) should not pay, and which the others can overlap with their first child
// processes by calling preloadUndici() early.
import { baselineWasmOnly } from "../exec/wasm-flags.js";

type Undici = typeof import("./undici-client.js");

let loading: Promise<Undici> | undefined;

export function undici(): Promise<Undici> {
  if (!loading) {
    // Set already by cli.ts; again for what runs main.ts without it (the single executable, tests).
    baselineWasmOnly();
    loading = import("./undici-client.js");
  }
  return loading;
}

/** Starts loading undici in the background; the first request then finds it ready. */
export function preloadUndici(): void {
  void undici();
}
