// What `rf-agent install` changes on the host, decided from what it would write and what it found:
// pure, so every case (first install, nothing to do, a schedule removed, a secret rotated) is a
// plain-object test. src/ops/agent-units.ts applies the plan; src/commands/install.ts reports it.
import { createHash } from "node:crypto";
import type { RenderedFile } from "./render.js";

/** What install wrote, kept root-only beside the app's state (read and written by src/triggers/manifest.ts). */
export interface Manifest {
  version: 1;
  app: string;
  installedAt: string;
  files: { path: string; sha256: string }[];
  /** Enabled and started by install: the timer (if any), the .path unit, the listener. */
  units: string[];
  /** Set when install generated the secret; holds its digest, so a secret replaced since is kept. */
  generatedSecret: { path: string; sha256: string } | null;
  /** Digest of what the listener read at its last start (config and secret): a change restarts it. */
  listenerInputs: string;
}

export function sha256(text: string | Buffer): string {
  return createHash("sha256").update(text).digest("hex");
}

/** What install found on the host, and what it wants there. */
export interface InstallInput {
  app: string;
  /** The unit files to have, rendered. */
  files: RenderedFile[];
  /** The units to have enabled and running, in start order. */
  units: string[];
  /** The listener's unit: restarted when what it reads at start (config, secret) changed. */
  listener: string;
  /** Where each unit's file is. */
  unitPath: (unit: string) => string;
  /** The last install's manifest, if any. */
  old: Manifest | null;
  /** Each wanted file's content on disk now (null: missing), by path. */
  onDisk: ReadonlyMap<string, string | null>;
  /** The wanted units already enabled. */
  enabled: ReadonlySet<string>;
  /** Digest of the config and the secret as they are now. */
  listenerInputs: string;
  /** The secret install made this time (its content), or null. */
  generatedSecret: { path: string; content: string } | null;
  now: Date;
}

export interface InstallPlan {
  /** Every wanted file, and whether its content changes. */
  files: (RenderedFile & { changed: boolean })[];
  /** Files of the last install no longer wanted (the timer of a removed schedule). */
  staleFiles: string[];
  /** Units of the last install no longer wanted: disabled and stopped before their file goes. */
  staleUnits: string[];
  /** systemd must re-read its unit files. */
  reload: boolean;
  enable: string[];
  /** Units started (a first start is a start). */
  start: string[];
  /** Units that ran before and whose file or inputs changed. */
  restart: string[];
  manifest: Manifest;
  /** Nothing on the host changes. */
  nothing: boolean;
}

export function planInstall(input: InstallInput): InstallPlan {
  const { old, units } = input;
  const wanted = new Set(input.files.map((f) => f.path));
  const files = input.files.map((f) => ({ ...f, changed: input.onDisk.get(f.path) !== f.content }));
  const changed = new Set(files.filter((f) => f.changed).map((f) => f.path));
  const staleFiles = (old?.files ?? []).map((f) => f.path).filter((p) => !wanted.has(p));
  const staleUnits = (old?.units ?? []).filter((u) => !units.includes(u));
  const enable = units.filter((u) => !input.enabled.has(u));
  // Only what ran before and changed: a first start is a start.
  const restart = units.filter(
    (u) =>
      old?.units.includes(u) &&
      (changed.has(input.unitPath(u)) ||
        (u === input.listener && old.listenerInputs !== input.listenerInputs)),
  );
  const generated = input.generatedSecret;
  const manifest: Manifest = {
    version: 1,
    app: input.app,
    installedAt: old?.installedAt ?? input.now.toISOString(),
    files: input.files.map((f) => ({ path: f.path, sha256: sha256(f.content) })),
    units,
    generatedSecret: generated
      ? { path: generated.path, sha256: sha256(generated.content) }
      : (old?.generatedSecret ?? null),
    listenerInputs: input.listenerInputs,
  };
  return {
    files,
    staleFiles,
    staleUnits,
    reload: changed.size > 0 || staleFiles.length > 0,
    enable,
    start: units.filter((u) => !restart.includes(u)),
    restart,
    manifest,
    nothing: changed.size === 0 && staleFiles.length === 0 && enable.length === 0 && restart.length === 0,
  };
}
