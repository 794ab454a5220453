// rf-agent's code, run from V8's code cache when root has one: a run then reads back the compiled
// functions of its command instead of parsing and compiling the ~1.3 MB bundle again (about 40 ms
// of every command's start, the largest part of it that is ours). Node 20 has no compile cache of
// its own: module.enableCompileCache comes with Node 22.
import {
  constants,
  closeSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { isAscii } from "node:buffer";
import { createRequire } from "node:module";
import path from "node:path";
import vm from "node:vm";
import { MARK, mark } from "./start-marks.js";

/** Where root keeps the caches: deletable at any time (FHS /var/cache), only root may read or write it. */
export const CACHE_DIR = "/var/cache/rf-agent";

/** Larger than any cache of ours; a bigger file there is not one. */
const MAX_CACHE_BYTES = 64 * 1024 * 1024;

const COMMAND_WORD = /^[a-z][a-z-]{0,30}$/;

/**
 * One cache per command: each compiles its own part of the bundle, and a cache holds what its first
 * run compiled. The command is the first word that is neither an option nor --config's value.
 */
export function cacheKey(args: readonly string[]): string {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--config") i++;
    else if (!a.startsWith("-")) return COMMAND_WORD.test(a) ? a : "other";
  }
  return "none";
}

/**
 * The directory, made if missing, when only root can write to it and it is no link: root loads
 * code from it, so anything else may have put there what it runs.
 */
export function usableCacheDir(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    return st.isDirectory() && st.uid === 0 && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/** The cache's bytes: a regular file of root's, not followed through a link; else undefined. */
export function readCache(file: string): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.uid !== 0 || st.size === 0 || st.size > MAX_CACHE_BYTES) return undefined;
    const data = Buffer.alloc(st.size);
    let got = 0;
    while (got < data.length) {
      const n = readSync(fd, data, got, data.length - got, got);
      if (n === 0) return undefined;
      got += n;
    }
    return data;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * Written whole under a temporary name, then renamed: a run reading at the same moment sees the old
 * cache or the new one. Caches of other builds go, so the directory holds one build's.
 */
export function writeCache(dir: string, file: string, data: Buffer, buildId: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, data, { mode: 0o600, flag: "wx" });
    renameSync(tmp, file);
    for (const name of readdirSync(dir)) {
      if (!name.startsWith(`${buildId}.`)) rmSync(path.join(dir, name), { force: true });
    }
  } catch {
    rmSync(tmp, { force: true });
  }
}

export interface RunOptions {
  /** Where the caches are; "off" for none. */
  dir?: string;
  /** How the cache gets written once the run is over (a test calls it itself). */
  atExit?: (write: () => void) => void;
}

export interface BundleRun {
  /** The cache this run read (hit) or will write at exit (miss); null when it uses none. */
  cacheFile: string | null;
  hit: boolean;
}

/**
 * Compiles and runs the CommonJS bundle at `file`, as Node's loader would, but with V8's cached
 * data for its command when root has it; a missing or rejected cache (another Node, other V8 flags)
 * is written at exit, with what the run compiled. `dir` "off": no cache.
 */
export function runBundle(
  file: string,
  args: readonly string[],
  { dir = CACHE_DIR, atExit = (f: () => void) => void process.once("exit", f) }: RunOptions = {},
): BundleRun {
  const bytes = readFileSync(file);
  // One-byte text straight from the file when it is ASCII, as scripts/bundle.mjs writes it: decoding
  // it as UTF-8 into a two-byte string took ~15 ms.
  const source = isAscii(bytes) ? bytes.toString("latin1") : bytes.toString("utf8");
  // The bundle's name carries its content hash (scripts/bundle.mjs): a cache is never read by code
  // other than the code it was made from, even one of the same length, which V8 alone would accept.
  const buildId = path.basename(file).replace(/\.cjs$/, "");
  const useCache = dir !== "off" && process.getuid?.() === 0 && usableCacheDir(dir);
  const cacheFile = useCache ? path.join(dir, `${buildId}.${cacheKey(args)}.cache`) : null;
  const cachedData = cacheFile ? readCache(cacheFile) : undefined;
  // Node's own CommonJS wrapper, on the bundle's first line so that line numbers stay the bundle's.
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    cachedData,
  });
  const hit = cachedData !== undefined && !script.cachedDataRejected;
  mark(MARK.compiled, { cache: !cacheFile ? "off" : hit ? "hit" : cachedData ? "rejected" : "missing" });
  if (cacheFile && !hit) {
    atExit(() => writeCache(dir, cacheFile, script.createCachedData(), buildId));
  }
  const module = { exports: {} };
  (script.runInThisContext() as (...a: unknown[]) => void)(
    module.exports,
    createRequire(file),
    module,
    file,
    path.dirname(file),
  );
  return { cacheFile, hit };
}
