// undici, loaded on first use: evaluating it costs ~80 ms, which a command that never makes an HTTP
// request (history, logs) should not pay, and which the others can overlap with their first child
// processes by calling preloadUndici() early.
import { setFlagsFromString } from "node:v8";

type Undici = typeof import("./undici-client.js");

let loading: Promise<Undici> | undefined;

/**
 * undici parses HTTP with llhttp compiled to WebAssembly when it makes its first request. V8's
 * optimizing compiler took ~35 MB more peak memory and CPU on a second thread for that module than
 * its baseline one (Liftoff), for answers of a few hundred bytes: `rf-agent status` peaked at 100 MB
 * instead of 65. Set before undici compiles it; nothing else in rf-agent runs WebAssembly.
 */
function baselineWasmOnly(): void {
  setFlagsFromString("--liftoff-only");
}

export function undici(): Promise<Undici> {
  if (!loading) {
    baselineWasmOnly();
    loading = import("./undici-client.js");
  }
  return loading;
}

/** Starts loading undici in the background; the first request then finds it ready. */
export function preloadUndici(): void {
  void undici();
}
