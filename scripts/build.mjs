// Builds dist/: src/cli.ts and its dependencies bundled into a few ES modules, one chunk per command.
// Why a bundle: node spends most of a run's first second resolving and compiling hundreds of small
// module files; bundled and split, `rf-agent rollback` is on its way in about half the time.
import { chmod, rm } from "node:fs/promises";
import { build } from "esbuild";

await rm("dist", { recursive: true, force: true });
await build({
  entryPoints: ["src/cli.ts"],
  outdir: "dist",
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
await chmod("dist/cli.js", 0o755);
