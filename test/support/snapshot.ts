// Snapshots of a server's file system (type, owner, mode, sha256 or link target of every entry under
// some roots), taken by snapshot.py inside the server: what an attack changed outside the app's tree.
import path from "node:path";
import { REPO_ROOT, type TestServer } from "../../scripts/lab/server.js";

const SCRIPT = path.join(REPO_ROOT, "test", "support", "snapshot.py");

export interface SnapshotScope {
  roots: string[];
  /** Paths (each with all below it) or shell globs over whole paths, left out of every snapshot. */
  exclude: string[];
}

/** One entry that differs; before/after read like "file root:root 0644 sha256:…", null when absent. */
export interface SnapshotChange {
  path: string;
  before: string | null;
  after: string | null;
}

export interface RestoreResult {
  restored: string[];
  removed: string[];
  /** What owners and modes could not put back: content changed, an entry removed or retyped. */
  left: string[];
}

async function snapshotPy(server: TestServer, args: string[], timeoutMs = 300_000): Promise<string> {
  // -I: no user site, no cwd on sys.path; -B: no __pycache__ written into the repo.
  const r = await server.exec("python3", ["-I", "-B", SCRIPT, ...args], { timeoutMs, reject: true });
  return r.stdout;
}

/** Walks the scope and stores the snapshot inside the server as `name`; returns its entry count. */
export async function takeSnapshot(server: TestServer, name: string, scope: SnapshotScope): Promise<number> {
  return Number((await snapshotPy(server, ["take", name, JSON.stringify(scope)])).trim());
}

/** What differs from snapshot `from` to snapshot `to`. */
export async function snapshotDiff(server: TestServer, from: string, to: string): Promise<SnapshotChange[]> {
  return JSON.parse(await snapshotPy(server, ["diff", from, to])) as SnapshotChange[];
}

/** Takes snapshot `name` now and returns what differs from `reference`. */
export async function changesSince(
  server: TestServer,
  reference: string,
  scope: SnapshotScope,
  name = "now",
): Promise<SnapshotChange[]> {
  await takeSnapshot(server, name, scope);
  return snapshotDiff(server, reference, name);
}

/** Puts owners and modes of `name` back and removes entries added since; content it cannot restore. */
export async function restoreSnapshot(
  server: TestServer,
  name: string,
  scope: SnapshotScope,
): Promise<RestoreResult> {
  return JSON.parse(await snapshotPy(server, ["restore", name, JSON.stringify(scope)])) as RestoreResult;
}

/** One line per change, for a failure message. */
export function describeChanges(changes: SnapshotChange[], max = 40): string {
  const lines = changes
    .slice(0, max)
    .map((c) => `  ${c.path}: ${c.before ?? "(absent)"}  =>  ${c.after ?? "(absent)"}`);
  if (changes.length > max) lines.push(`  … and ${changes.length - max} more`);
  return lines.join("\n");
}
