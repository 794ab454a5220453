// dist/ as a checkout and the npm package have it (scripts/build.mjs, scripts/release.mjs):
//   cli.js                   the entry point: raises the priority, then runs the bundle
//   rf-agent-HASH.cjs(.map)  src/main.ts and everything it imports, dependencies included, in one
//                            CommonJS script; HASH is of its content
// Why one bundle: node spent most of a run's start resolving and compiling hundreds of module files.
// Why CommonJS: Node 20 can give V8's code cache only to a script, not to an ES module; cli.js
// runs the bundle from the cache root keeps of it (src/boot/code-cache.ts).
import { createHash } from "node:crypto";
import { chmod, mkdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { build } from "esbuild";

// undici's HTTP/2 client loads node:http2 as undici loads; it gets scripts/shims/http2.cjs instead.
const UNDICI_H2 = /undici[\\/]lib[\\/]dispatcher[\\/]client-h2\.js$/;
export const lazyHttp2 = {
  name: "lazy-http2",
  setup(b) {
    b.onResolve({ filter: /^node:http2$/ }, (args) =>
      UNDICI_H2.test(args.importer) ? { path: path.resolve("scripts/shims/http2.cjs") } : undefined,
    );
  },
};

/** The esbuild options every build of rf-agent shares (this file's and the single executable's). */
export const common = { bundle: true, platform: "node", target: "node20.19", logLevel: "warning" };

// Through a temporary name and a rename: an rf-agent starting meanwhile (a test server runs this
// checkout's dist/) reads the old file or the new one, never one half-written.
async function writeWhole(file, contents, mode = 0o644) {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  await writeFile(tmp, contents);
  await chmod(tmp, mode);
  await rename(tmp, file);
}

/** Writes the bundle and the entry point into outDir; returns the bundle's file name. */
export async function bundle(outDir, define = {}) {
  await mkdir(outDir, { recursive: true });
  const main = await build({
    ...common,
    write: false,
    entryPoints: ["src/main.ts"],
    outfile: path.join(outDir, "main.cjs"),
    format: "cjs",
    sourcemap: true,
    plugins: [lazyHttp2],
    // ASCII only, so cli.js reads it as one-byte text (a file with one non-ASCII byte took 15 ms
    // more to decode): strings escaped, licence comments of the dependencies in their own file.
    charset: "ascii",
    legalComments: "external",
    // template.ts finds units/ and nginx/ from its own file: the bundle's, given by cli.js's wrapper.
    define: { ...define, "import.meta.url": "__rfModuleUrl" },
    banner: { js: "const __rfModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  });
  const js = main.outputFiles.find((f) => f.path.endsWith(".cjs"));
  const map = main.outputFiles.find((f) => f.path.endsWith(".map"));
  const legal = main.outputFiles.find((f) => f.path.endsWith(".LEGAL.txt"));
  const hash = createHash("sha256").update(js.contents).digest("hex").slice(0, 16);
  const name = `rf-agent-${hash}.cjs`;
  const text = js.text.replace(
    /\/\/# sourceMappingURL=main\.cjs\.map\s*$/,
    `//# sourceMappingURL=${name}.map\n`,
  );
  // The bundle before the entry point that names it: a run starting meanwhile finds either build whole.
  await writeWhole(path.join(outDir, `${name}.map`), map.contents);
  if (legal) await writeWhole(path.join(outDir, "THIRD-PARTY-LICENSES.txt"), legal.contents);
  await writeWhole(path.join(outDir, name), text);
  const cli = await build({
    ...common,
    write: false,
    entryPoints: ["src/cli.ts"],
    outfile: path.join(outDir, "cli.js"),
    format: "esm",
    define: { __RF_AGENT_BUNDLE__: JSON.stringify(name) },
  });
  await writeWhole(path.join(outDir, "cli.js"), cli.outputFiles[0].contents, 0o755);
  return name;
}
