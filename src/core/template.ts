// Tiny {{name}} templating over the files in units/ and nginx/; unknown names are bugs, so they throw.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

// The nearest folder above this module holding units/ and nginx/: src/core when run from source,
// dist/ or dist/chunks when bundled.
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

export function readTemplate(relative: string): string {
  let text = cache.get(relative);
  if (text === undefined) {
    text = readFileSync(path.join((root ??= packageRoot()), relative), "utf8");
    cache.set(relative, text);
  }
  return text;
}

export function fill(template: string, vars: Record<string, string | number>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    const value = vars[name];
    if (value === undefined) throw new Error(`template variable {{${name}}} has no value`);
    return String(value);
  });
}
