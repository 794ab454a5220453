// V8 flags rf-agent sets for itself; the entry point (cli.ts) sets them before anything compiles.
import { setFlagsFromString } from "node:v8";

/**
 * undici parses HTTP with llhttp compiled to WebAssembly when it makes its first request. V8's
 * optimizing compiler took ~35 MB more peak memory and CPU on a second thread for that module than
 * its baseline one (Liftoff), for answers of a few hundred bytes: `rf-agent status` peaked at 100 MB
 * instead of 65. Nothing else in rf-agent runs WebAssembly.
 *
 * Set at start, not when undici first loads: V8 accepts a code cache only under the flags it was
 * made with, and a cache is made at the end of a run (boot/code-cache.ts).
 */
export function baselineWasmOnly(): void {
  setFlagsFromString("--liftoff-only");
}
