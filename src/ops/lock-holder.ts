// Who holds the app lock now, for `rf-agent status` (taking it is withLock's, src/ops/recorded.ts).
import { isLocked, readHolder, type LockHolder } from "../adapters/lock.js";
import type { Context } from "../context.js";

export type { LockHolder };

/** The holder while the kernel says the lock is held (an unknown one when its file is gone); null when free. */
export async function lockHolder(ctx: Context): Promise<LockHolder | null> {
  const [holder, locked] = await Promise.all([
    readHolder(ctx.layout.lockHolderPath),
    isLocked(ctx.run, ctx.layout.lockPath),
  ]);
  if (!locked) return null;
  return holder ?? { pid: 0, command: "unknown", since: "" };
}
