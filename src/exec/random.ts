// Random names (temporary files, transient units, run ids) without loading node:crypto up front:
// ~6 ms of the start of `status`, `history` and `logs`, which never need one.

/** `bytes` random bytes as hex, from node:crypto, loaded on first use. */
export function randomHex(bytes: number): string {
  return process.getBuiltinModule("node:crypto").randomBytes(bytes).toString("hex");
}
