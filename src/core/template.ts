// Tiny {{name}} templating over the files in units/ and nginx/; unknown names are bugs, so they throw.
// The templates are files beside the code, or, in the single executable (scripts/release.mjs),
// assets inside it: that one file is all a server gets.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

// The nearest folder above this module holding units/ and nginx/: src/core when run from source,
// dist/ when bundled (the bundle says where it is through cli.js's wrapper: scripts/bundle.mjs).
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!(existsSync(path.join(dir, "units")) && existsSync(path.join(dir, "nginx")))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`units/ and nginx/ not found above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  return dir;
}
let root: string | undefined;

const cache = new Map<string, string>();

/** node:sea when this runs as a single executable, else null. */
function seaModule(): typeof import("node:sea") | null {
  // Looked up at run time: node:sea is not there to import before Node 20.12, and ES module and
  // CommonJS builds (dist/ and the single executable) both have process.getBuiltinModule.
  const sea = process.getBuiltinModule("node:sea");
  return sea.isSea() ? sea : null;
}

/** True when this runs as the single executable (Node's runtime and rf-agent in one file). */
export function isSingleExecutable(): boolean {
  return seaModule() !== null;
}

/** A file of the package (units/..., nginx/..., package.json): an asset of the single executable, or on disk. */
export function readPackageFile(relative: string): string {
  let text = cache.get(relative);
  if (text === undefined) {
    const sea = seaModule();
    text = sea
      ? sea.getAsset(relative, "utf8")
      : readFileSync(path.join((root ??= packageRoot()), relative), "utf8");
    cache.set(relative, text);
  }
  return text;
}

export function readTemplate(relative: string): string {
  return readPackageFile(relative);
}

/** The folder holding units/, nginx/ and package.json, when this runs from files (null in the single executable). */
export function packageDir(): string | null {
  return seaModule() ? null : (root ??= packageRoot());
}

export function fill(template: string, vars: Record<string, string | number>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    const value = vars[name];
    if (value === undefined) throw new Error(`template variable {{${name}}} has no value`);
    return String(value);
  });
}
