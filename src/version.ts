// Which build this is: `rf-agent --version`. A release (scripts/release.mjs) embeds the version and
// the commit it was built from; a checkout reads package.json and its git HEAD.
import { readFileSync } from "node:fs";
import path from "node:path";
import { packageDir, readPackageFile } from "./core/template.js";

// Replaced by esbuild's `define` in a release build; absent anywhere else.
declare const __RF_AGENT_BUILD__: { version: string; commit: string } | undefined;

export interface BuildInfo {
  version: string;
  /** Full commit id, with "-dirty" when the tree had uncommitted changes; "unknown" when nobody knows. */
  commit: string;
}

/** The commit a git checkout at dir has out, read from its files (no git run); "unknown" if none. */
export function checkoutCommit(dir: string): string {
  try {
    const gitDir = path.join(dir, ".git");
    const head = readFileSync(path.join(gitDir, "HEAD"), "utf8").trim();
    const ref = /^ref: (refs\/[\w./-]+)$/.exec(head)?.[1];
    if (!ref) return /^[0-9a-f]{40}$/.test(head) ? head : "unknown";
    try {
      return readFileSync(path.join(gitDir, ref), "utf8").trim();
    } catch {
      // Packed: "<sha> <ref>" lines.
      const packed = readFileSync(path.join(gitDir, "packed-refs"), "utf8");
      return new RegExp(`^([0-9a-f]{40}) ${ref.replace(/[.]/g, "\\.")}$`, "m").exec(packed)?.[1] ?? "unknown";
    }
  } catch {
    return "unknown";
  }
}

export function buildInfo(): BuildInfo {
  if (typeof __RF_AGENT_BUILD__ !== "undefined") return __RF_AGENT_BUILD__;
  const version = (JSON.parse(readPackageFile("package.json")) as { version?: string }).version ?? "unknown";
  const dir = packageDir();
  return { version, commit: dir ? checkoutCommit(dir) : "unknown" };
}

export function versionText(info: BuildInfo = buildInfo()): string {
  return `rf-agent ${info.version} (commit ${info.commit})`;
}
