// Tiny {{name}} templating over the files in units/ and nginx/; unknown names are bugs, so they throw.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

// src/core and dist/core both sit two levels below the package root.
const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

const cache = new Map<string, string>();

export function readTemplate(relative: string): string {
  let text = cache.get(relative);
  if (text === undefined) {
    text = readFileSync(path.join(PACKAGE_ROOT, relative), "utf8");
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
