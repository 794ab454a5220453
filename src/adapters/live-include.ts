// The live include as nginx reads it: its plain route, or an armed switch's when the flag exists.
import { lstat } from "node:fs/promises";
import type { Layout } from "../core/layout.js";
import { parseArmedSwitch, parseLiveInclude, type ArmedSwitch, type LiveRoute } from "../core/render.js";
import { readIfExists } from "./files.js";

export interface LiveInclude {
  /** Where nginx routes a request now, by this file (and the armed switch's flag). */
  route: LiveRoute;
  /** The route without the flag. */
  base: LiveRoute;
  armed: ArmedSwitch | null;
}

async function flagExists(flag: string): Promise<boolean> {
  return lstat(flag).then(
    (st) => st.isFile(),
    () => false,
  );
}

/** null when there is no include, or it is not ours. */
export async function readLiveInclude(layout: Layout): Promise<LiveInclude | null> {
  const text = await readIfExists(layout.liveIncludePath);
  const base = text ? parseLiveInclude(text) : null;
  if (!text || !base) return null;
  const armed = parseArmedSwitch(text);
  return { base, armed, route: armed && (await flagExists(armed.flag)) ? armed.to : base };
}
