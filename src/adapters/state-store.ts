// Reading and writing state.json, and rebuilding it from the host when it is missing or corrupt.
import { COLORS, type Color } from "../config/types.js";
import { readLiveInclude } from "./live-include.js";
import { emptyState, StateSchema, type State } from "../core/state.js";
import { other, type Layout } from "../core/layout.js";
import type { Logger } from "../log.js";
import { ensurePrivateDir, readIfExists, writeAtomic } from "./files.js";

export interface HostFacts {
  /** Commit checked out in each color's slot, null where there is no checkout. */
  slotSha(color: Color): Promise<string | null>;
  /** The context's clock: when a rebuilt state says its slots were installed. */
  now(): Date;
}

export async function saveState(layout: Layout, state: State): Promise<void> {
  await ensurePrivateDir(layout.stateDir);
  await writeAtomic(layout.statePath, JSON.stringify(state, null, 2) + "\n", 0o600);
}

/**
 * State from disk; if missing or corrupt, rebuilt from the nginx include and the checkouts, and
 * `rebuilt` says so (a rebuilt state agrees with the include by construction, so proves nothing).
 */
export async function loadState(
  layout: Layout,
  host: HostFacts,
  log: Logger,
): Promise<{ state: State; rebuilt: boolean }> {
  const text = await readIfExists(layout.statePath);
  if (text !== null) {
    try {
      const parsed = StateSchema.safeParse(JSON.parse(text));
      if (parsed.success && parsed.data.app === layout.app) return { state: parsed.data, rebuilt: false };
    } catch {
      // fall through to the rebuild
    }
    log.warn({ path: layout.statePath }, "state file is corrupt; rebuilding it from the host");
  } else {
    log.debug({ path: layout.statePath }, "no state file; reading the host");
  }
  return { state: await rebuildState(layout, host), rebuilt: true };
}

export async function rebuildState(layout: Layout, host: HostFacts): Promise<State> {
  const state = emptyState(layout.app);
  const now = host.now().toISOString();
  for (const c of COLORS) {
    const sha = await host.slotSha(c);
    if (sha) state.slots[c] = { sha, installedAt: now };
  }
  const live = (await readLiveInclude(layout))?.route ?? null;
  if (live) {
    state.live = { ...live, since: now };
    const prevColor = other(live.color);
    const prevSha = state.slots[prevColor]?.sha;
    if (prevSha) state.previous = { color: prevColor, sha: prevSha };
  }
  return state;
}
