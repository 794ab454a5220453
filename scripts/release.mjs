// npm run release: the two ways onto a server, built from scratch into release/ (gitignored).
//   release/rf-agent-linux-x64     one file with Node's runtime inside (a single executable
//                                  application): a server needs no Node at all, templates included
//   release/rf-agent-VERSION.tgz   the npm package, for servers with Node >= 20.19: everything is
//                                  bundled, so `npm install -g` fetches nothing (servers may be offline)
// Both carry the version and the commit they were built from (`rf-agent --version`).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, copyFile, cp, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { build } from "esbuild";
import { bundle, common, lazyHttp2 } from "./bundle.mjs";

const RELEASE = "release";
const EXECUTABLE = path.join(RELEASE, "rf-agent-linux-x64");
// The fuse postject flips so that node runs the injected blob (Node's documentation names it).
const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";
const TEMPLATE_DIRS = ["units", "nginx"];

const git = (...args) => execFileSync("git", args, { encoding: "utf8" }).trim();
const pkg = JSON.parse(await readFile("package.json", "utf8"));
// Uncommitted changes go into the build too: say so rather than name a commit that lacks them.
const commit =
  git("rev-parse", "HEAD") + (git("status", "--porcelain", "--untracked-files=no") ? "-dirty" : "");
const buildInfo = { version: pkg.version, commit };

if (process.platform !== "linux" || process.arch !== "x64") {
  throw new Error(
    `the single executable is for linux-x64 and takes this node's runtime; this is ${process.platform}-${process.arch}`,
  );
}

const define = { __RF_AGENT_BUILD__: JSON.stringify(buildInfo) };

// From nothing: dist/ in the checkout may hold older builds (kept for running processes).
await rm(RELEASE, { recursive: true, force: true });
const pkgDir = path.join(RELEASE, "package");
const seaDir = path.join(RELEASE, "sea");
await mkdir(pkgDir, { recursive: true });
await mkdir(seaDir, { recursive: true });

// --- the npm package: dist/ as scripts/build.mjs makes it, units/, nginx/, and no dependencies.
await bundle(path.join(pkgDir, "dist"), define);
for (const dir of TEMPLATE_DIRS) await cp(dir, path.join(pkgDir, dir), { recursive: true });
await copyFile("README.md", path.join(pkgDir, "README.md"));
// Every dependency is inside the bundle: listing them would make npm fetch them for nothing.
const { scripts: _s, devDependencies: _d, dependencies: _deps, ...published } = pkg;
await writeFile(path.join(pkgDir, "package.json"), JSON.stringify(published, null, 2) + "\n");
const packed = JSON.parse(
  execFileSync("npm", ["pack", "--json", "--pack-destination", path.resolve(RELEASE)], {
    cwd: pkgDir,
    encoding: "utf8",
  }),
)[0];
const tarball = path.join(RELEASE, packed.filename);

// --- the single executable: one CommonJS script (what SEA runs), the templates as assets.
const script = path.join(seaDir, "rf-agent.cjs");
await build({
  ...common,
  entryPoints: ["src/sea.ts"],
  define,
  outfile: script,
  format: "cjs",
  plugins: [lazyHttp2],
  // template.ts finds units/ and nginx/ through import.meta.url only when not a SEA; here it reads assets.
  logOverride: { "empty-import-meta": "silent" },
});
const assets = {};
for (const dir of TEMPLATE_DIRS) {
  for (const name of (await readdir(dir)).sort()) assets[`${dir}/${name}`] = path.resolve(dir, name);
}
const seaConfig = path.join(seaDir, "sea-config.json");
const blob = path.join(seaDir, "sea-prep.blob");
await writeFile(
  seaConfig,
  JSON.stringify(
    { main: script, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true, assets },
    null,
    2,
  ) + "\n",
);
// Quiet unless they fail (then the error carries their stderr): postject warns about ELF notes it
// does not know, and the result is checked right below.
const quiet = { stdio: "pipe" };
execFileSync(process.execPath, ["--experimental-sea-config", seaConfig], quiet);
await copyFile(process.execPath, EXECUTABLE);
await chmod(EXECUTABLE, 0o755);
execFileSync(
  path.join("node_modules", ".bin", "postject"),
  [EXECUTABLE, "NODE_SEA_BLOB", blob, "--sentinel-fuse", SEA_FUSE],
  quiet,
);
const said = execFileSync(EXECUTABLE, ["--version"], { encoding: "utf8" }).trim();
if (!said.includes(commit)) throw new Error(`${EXECUTABLE} --version says "${said}", not commit ${commit}`);

const sums = [];
for (const file of [EXECUTABLE, tarball]) {
  const hash = createHash("sha256")
    .update(await readFile(file))
    .digest("hex");
  sums.push(`${hash}  ${path.basename(file)}`);
}
await writeFile(path.join(RELEASE, "SHA256SUMS"), sums.join("\n") + "\n");
console.log(`${said}\n  ${EXECUTABLE}\n  ${tarball}\n  ${path.join(RELEASE, "SHA256SUMS")}`);
