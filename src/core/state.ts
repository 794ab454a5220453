// What rf-agent remembers between runs. The host is the truth; this is a cache of it
// that can always be rebuilt (see adapters/state-store.ts).
import * as z from "zod/mini";
import { COLORS, type Color } from "../config/types.js";
import { other } from "./layout.js";

const sha = z.string().check(z.regex(/^[0-9a-f]{40}$/));
const color = z.enum(COLORS);

export const StateSchema = z.object({
  version: z.literal(1),
  app: z.string(),
  live: z.nullable(z.object({ color, sha, since: z.string() })),
  previous: z.nullable(z.object({ color, sha })),
  slots: z.object({
    blue: z.nullable(z.object({ sha, installedAt: z.string() })),
    green: z.nullable(z.object({ sha, installedAt: z.string() })),
  }),
  /** The previous color kept running for an instant rollback, until this time. */
  standby: z.nullable(z.object({ color, until: z.string() })),
  /** Installed and healthy in the idle color by `deploy --no-switch`, waiting for `rf-agent switch`. */
  staged: z._default(z.nullable(z.object({ color, sha })), null),
});

export type State = z.infer<typeof StateSchema>;

export function emptyState(app: string): State {
  return {
    version: 1,
    app,
    live: null,
    previous: null,
    slots: { blue: null, green: null },
    standby: null,
    staged: null,
  };
}

/** What serves, as a release (color and commit); null before the first deploy. */
export function liveRelease(state: State): { color: Color; sha: string } | null {
  return state.live ? { color: state.live.color, sha: state.live.sha } : null;
}

/** The color a deploy installs into: the one not serving. */
export function idleColor(state: State): Color {
  return state.live ? other(state.live.color) : "blue";
}

export function afterSwitch(state: State, to: Color, toSha: string, now: Date): State {
  const from = state.live;
  return {
    ...state,
    live: { color: to, sha: toSha, since: now.toISOString() },
    previous: from && from.color !== to ? { color: from.color, sha: from.sha } : state.previous,
    slots: {
      ...state.slots,
      [to]: state.slots[to]?.sha === toSha ? state.slots[to] : { sha: toSha, installedAt: now.toISOString() },
    },
  };
}

export function withSlot(state: State, c: Color, slotSha: string, now: Date): State {
  return { ...state, slots: { ...state.slots, [c]: { sha: slotSha, installedAt: now.toISOString() } } };
}

/** A release installed into color `c`: its slot holds the commit, and a warm standby there is gone. */
export function installedIn(state: State, c: Color, slotSha: string, now: Date): State {
  const next = withSlot(state, c, slotSha, now);
  return { ...next, standby: next.standby?.color === c ? null : next.standby };
}
