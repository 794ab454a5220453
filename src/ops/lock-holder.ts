// Who holds the app lock now, for `rf-agent status` (taking it is withLock's, src/ops/recorded.ts).
import { heldInProcLocks, isLocked, readHolder, type LockHolder } from "../adapters/lock.js";
import type { Context } from "../context.js";

export type { LockHolder };

/**
 * The holder while the kernel says the lock is held (an unknown one when its file is gone); null
 * when free. /proc/locks answers without a process start; `flock` is asked only when it cannot
 * tell, or shows no lock while a holder file says there is one (a holder in another pid namespace).
 */
export async function lockHolder(ctx: Context, procLocks?: string): Promise<LockHolder | null> {
  const [holder, held] = await Promise.all([
    readHolder(ctx.layout.lockHolderPath),
    heldInProcLocks(ctx.layout.lockPath, procLocks),
  ]);
  if (held === false && !holder) return null;
  if (held !== true && !(await isLocked(ctx.run, ctx.layout.lockPath))) return null;
  return holder ?? { pid: 0, command: "unknown", since: "" };
}
