// What `rf-agent install` wrote, so a second install changes only what differs and `uninstall`
// removes exactly that. Root-only, under the app's state dir.
import path from "node:path";
import * as z from "zod/mini";
import { ensureDir, readIfExists, writeAtomic } from "../adapters/files.js";
import type { Manifest } from "../core/agent-units.js";

export { sha256, type Manifest } from "../core/agent-units.js";

const ManifestSchema = z.object({
  version: z.literal(1),
  app: z.string(),
  installedAt: z.string(),
  files: z.array(z.object({ path: z.string(), sha256: z.string() })),
  /** Enabled and started by install: the timer (if any), the .path unit, the listener. */
  units: z.array(z.string()),
  /** Set when install generated the secret; holds its digest, so a secret replaced since is kept. */
  generatedSecret: z.nullable(z.object({ path: z.string(), sha256: z.string() })),
  /** Digest of what the listener read at its last start (config and secret): a change restarts it. */
  listenerInputs: z.string(),
});

export async function readManifest(file: string): Promise<Manifest | null> {
  const text = await readIfExists(file);
  if (text === null) return null;
  try {
    const parsed = ManifestSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export async function writeManifest(file: string, manifest: Manifest): Promise<void> {
  await ensureDir(path.dirname(file), 0o700);
  await writeAtomic(file, JSON.stringify(manifest, null, 2) + "\n", 0o600);
}
