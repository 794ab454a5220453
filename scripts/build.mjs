// npm run build: dist/ for this checkout (what dist/ holds, and why: scripts/bundle.mjs).
import { readdir, rm, rmdir, stat } from "node:fs/promises";
import path from "node:path";
import { bundle } from "./bundle.mjs";

const name = await bundle("dist");

// An rf-agent running from dist/ (a test server mounts this checkout) has read its bundle already,
// but older builds' files go only once they are an hour old, as the build before this one did.
const keep = new Set(["cli.js", "THIRD-PARTY-LICENSES.txt", name, `${name}.map`]);
const hourAgo = Date.now() - 3600_000;
async function prune(dir) {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      await prune(p);
      await rmdir(p).catch(() => undefined);
    } else if (!(dir === "dist" && keep.has(e.name)) && (await stat(p)).mtimeMs < hourAgo) {
      await rm(p, { force: true });
    }
  }
}
await prune("dist");
