// Builds dist/: src/cli.ts and its dependencies bundled into a few ES modules, one chunk per command.
// Why a bundle: node spends most of a run's first second resolving and compiling hundreds of small
// module files; bundled and split, `rf-agent rollback` is on its way in about half the time.
import { chmod, mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { build } from "esbuild";

// Built beside dist/ and moved in file by file: an rf-agent already running from dist/ (a test
// server mounts this checkout) still finds the chunks it loads on demand, since their names carry
// a content hash and old ones are only removed once they are an hour old.
const staging = `dist.${process.pid}.tmp`;
await rm(staging, { recursive: true, force: true });
await build({
  entryPoints: ["src/cli.ts"],
  outdir: staging,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20.19",
  sourcemap: true,
  chunkNames: "chunks/[name]-[hash]",
  // pino is CommonJS and calls require(); give the ES module bundle one.
  banner: {
    js: "import { createRequire as __rfCreateRequire } from 'node:module'; const require = __rfCreateRequire(import.meta.url);",
  },
  logLevel: "warning",
});
await chmod(path.join(staging, "cli.js"), 0o755);

async function files(dir, rel = "") {
  const out = [];
  for (const e of await readdir(path.join(dir, rel), { withFileTypes: true })) {
    const r = path.join(rel, e.name);
    if (e.isDirectory()) out.push(...(await files(dir, r)));
    else out.push(r);
  }
  return out;
}

const fresh = await files(staging);
await mkdir("dist/chunks", { recursive: true });
// Chunks first, the entry point last: a run that starts now sees either the old build or the whole new one.
for (const f of fresh.sort((a, b) => Number(a.startsWith("cli.")) - Number(b.startsWith("cli.")))) {
  await rename(path.join(staging, f), path.join("dist", f));
}
await rm(staging, { recursive: true, force: true });
const keep = new Set(fresh);
const hourAgo = Date.now() - 3600_000;
for (const f of await files("dist")) {
  if (keep.has(f)) continue;
  const st = await stat(path.join("dist", f));
  if (st.mtimeMs < hourAgo) await rm(path.join("dist", f), { force: true });
}
