import { execFileSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { build } from "esbuild";
import {
  cacheKey,
  readCache,
  runBundle,
  usableCacheDir,
  writeCache,
  type BundleRun,
} from "../../../src/boot/code-cache.js";

// Root's cache only: these run as root, as CI does (a non-root run uses no cache, tested below).
const root = process.getuid?.() === 0;
const STRANGER = 4242;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "rf-code-cache-"));
});
afterEach(() => {
  execFileSync("rm", ["-rf", dir]);
});

describe("cacheKey", () => {
  it("is the command word, past options and --config's value", () => {
    expect(cacheKey(["rollback"])).toBe("rollback");
    expect(cacheKey(["--config", "/etc/x.ini", "deploy", "--ref", "main"])).toBe("deploy");
    expect(cacheKey(["-v", "logs", "-n", "20"])).toBe("logs");
    expect(cacheKey(["--version"])).toBe("none");
    expect(cacheKey([])).toBe("none");
  });

  it("never makes a file name of something else", () => {
    expect(cacheKey(["../../etc/passwd"])).toBe("other");
    expect(cacheKey(["Deploy"])).toBe("other");
    expect(cacheKey(["a".repeat(40)])).toBe("other");
  });
});

describe.runIf(root)("usableCacheDir (as root)", () => {
  it("makes the directory root's alone", () => {
    const d = path.join(dir, "cache", "rf-agent");
    expect(usableCacheDir(d)).toBe(true);
    expect(statSync(d).mode & 0o777).toBe(0o700);
  });

  it("takes an existing directory only root can write to", () => {
    const d = path.join(dir, "c");
    mkdirSync(d, { mode: 0o755 });
    chmodSync(d, 0o755);
    expect(usableCacheDir(d)).toBe(true);
    chmodSync(d, 0o775);
    expect(usableCacheDir(d)).toBe(false);
    chmodSync(d, 0o757);
    expect(usableCacheDir(d)).toBe(false);
  });

  it("refuses a directory of another user, a link to one, and a file", () => {
    const theirs = path.join(dir, "theirs");
    mkdirSync(theirs, { mode: 0o700 });
    chownSync(theirs, STRANGER, STRANGER);
    expect(usableCacheDir(theirs)).toBe(false);
    const mine = path.join(dir, "mine");
    mkdirSync(mine, { mode: 0o700 });
    const link = path.join(dir, "link");
    symlinkSync(mine, link);
    expect(usableCacheDir(link)).toBe(false);
    const file = path.join(dir, "file");
    writeFileSync(file, "");
    expect(usableCacheDir(file)).toBe(false);
  });
});

describe.runIf(root)("readCache (as root)", () => {
  it("reads root's regular file whole", () => {
    const f = path.join(dir, "x.cache");
    const bytes = Buffer.from(Array.from({ length: 200_000 }, (_, i) => i % 251));
    writeFileSync(f, bytes, { mode: 0o600 });
    expect(readCache(f)?.equals(bytes)).toBe(true);
  });

  it("reads nothing from a link, another user's file, an empty file, a fifo, or nothing", () => {
    const real = path.join(dir, "real");
    writeFileSync(real, "data");
    const link = path.join(dir, "link");
    symlinkSync(real, link);
    expect(readCache(link)).toBeUndefined();
    const theirs = path.join(dir, "theirs");
    writeFileSync(theirs, "data");
    chownSync(theirs, STRANGER, STRANGER);
    expect(readCache(theirs)).toBeUndefined();
    const empty = path.join(dir, "empty");
    writeFileSync(empty, "");
    expect(readCache(empty)).toBeUndefined();
    // A fifo with no writer would block a plain open: root never waits on a file.
    const fifo = path.join(dir, "fifo");
    execFileSync("mkfifo", [fifo]);
    expect(readCache(fifo)).toBeUndefined();
    expect(readCache(path.join(dir, "absent"))).toBeUndefined();
    expect(readCache(real)?.toString()).toBe("data");
  });
});

describe("writeCache", () => {
  it("writes the file for root alone and drops other builds' caches, not this build's", () => {
    writeFileSync(path.join(dir, "rf-agent-old.deploy.cache"), "old");
    writeFileSync(path.join(dir, "rf-agent-new.status.cache"), "status");
    const f = path.join(dir, "rf-agent-new.deploy.cache");
    writeCache(dir, f, Buffer.from("fresh"), "rf-agent-new");
    expect(readdirSync(dir).sort()).toEqual(["rf-agent-new.deploy.cache", "rf-agent-new.status.cache"]);
    expect(statSync(f).mode & 0o777).toBe(0o600);
    writeCache(dir, f, Buffer.from("again"), "rf-agent-new");
    expect(readdirSync(dir).sort()).toEqual(["rf-agent-new.deploy.cache", "rf-agent-new.status.cache"]);
  });

  it("leaves nothing behind when it cannot write", () => {
    const f = path.join(dir, "missing-dir", "rf-agent-x.deploy.cache");
    expect(() => writeCache(dir, f, Buffer.from("x"), "rf-agent-x")).not.toThrow();
    expect(existsSync(f)).toBe(false);
  });
});

describe("runBundle", () => {
  // A bundle as scripts/bundle.mjs writes one: CommonJS, a shebang-free body, named for its hash.
  function bundle(body: string, name = "rf-agent-0123456789abcdef.cjs"): string {
    const f = path.join(dir, name);
    writeFileSync(f, body);
    return f;
  }
  const BODY = [
    "const p = require('node:path');",
    "globalThis.__rfBundleSaw = { file: __filename, dir: __dirname, sep: p.sep, same: module.exports === exports };",
    "function boom() { throw new Error('at line 4'); }",
    "globalThis.__rfBoom = boom;",
  ].join("\n");
  type Seen = { file: string; dir: string; sep: string; same: boolean };
  const seen = () => (globalThis as unknown as { __rfBundleSaw: Seen }).__rfBundleSaw;

  it("runs the bundle as Node runs a CommonJS module, with its own line numbers", () => {
    const f = bundle(BODY);
    runBundle(f, ["status"], { dir: "off" });
    expect(seen()).toEqual({ file: f, dir, sep: "/", same: true });
    const boom = (globalThis as unknown as { __rfBoom: () => void }).__rfBoom;
    expect(() => boom()).toThrow(expect.objectContaining({ stack: expect.stringContaining(`${f}:3:`) }));
  });

  it("reads a bundle with text beyond ASCII as UTF-8, not byte by byte", () => {
    // written as UTF-8: the check mark is three bytes, each "é" two
    runBundle(bundle("globalThis.__rfText = '\u2713 \u00e9t\u00e9 ✓ été';"), ["status"], { dir: "off" });
    expect((globalThis as unknown as { __rfText: string }).__rfText).toBe("✓ été ✓ été");
  });

  // In separate processes, as runs are: within one, V8 compiles a source it has seen from its own
  // memory and never looks at the cache.
  async function runner(): Promise<
    (bundle: string, args: string[], cache: string) => BundleRun & { marked?: string }
  > {
    const out = path.join(dir, "loader.mjs");
    await build({
      entryPoints: [path.resolve("src/boot/code-cache.ts")],
      bundle: true,
      platform: "node",
      format: "esm",
      outfile: out,
      logLevel: "silent",
    });
    const main = path.join(dir, "run.mjs");
    writeFileSync(
      main,
      `import { runBundle } from ${JSON.stringify(out)};\n` +
        "const r = runBundle(process.argv[2], process.argv.slice(4), { dir: process.argv[3] });\n" +
        // what the loader marked on the performance timeline for history's start-up parts
        'const m = globalThis[Symbol.for("rf-agent.start-marks")]?.["rf-agent:compiled"];\n' +
        "process.stdout.write(JSON.stringify({ ...r, marked: m?.detail?.cache }));\n",
    );
    return (bundle, args, cache) =>
      JSON.parse(
        execFileSync(process.execPath, [main, bundle, cache, ...args], { encoding: "utf8" }),
      ) as BundleRun & { marked?: string };
  }

  it.runIf(root)(
    "writes the command's cache at exit, reads it in the next run, replaces one V8 rejects",
    async () => {
      const run = await runner();
      const cache = path.join(dir, "cache");
      const f = bundle(BODY);
      const file = path.join(cache, "rf-agent-0123456789abcdef.status.cache");
      expect(run(f, ["status"], cache)).toEqual({ cacheFile: file, hit: false, marked: "missing" });
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(run(f, ["status"], cache)).toEqual({ cacheFile: file, hit: true, marked: "hit" });
      // Another command: its own cache.
      expect(run(f, ["logs"], cache).hit).toBe(false);
      expect(run(f, ["logs"], cache).hit).toBe(true);
      // Bytes V8 does not take (damaged, made by another Node): compiled afresh, a good cache written.
      writeFileSync(file, Buffer.alloc(4096, 7), { mode: 0o600 });
      expect(run(f, ["status"], cache)).toMatchObject({ hit: false, marked: "rejected" });
      expect(run(f, ["status"], cache).hit).toBe(true);
    },
  );

  it.runIf(root)("never reads the cache of another build, even of the same length", async () => {
    const run = await runner();
    const cache = path.join(dir, "cache");
    const a = bundle("globalThis.__rfBuild = 'A';", "rf-agent-aaaaaaaaaaaaaaaa.cjs");
    expect(run(a, ["status"], cache).hit).toBe(false);
    expect(run(a, ["status"], cache).hit).toBe(true);
    const b = bundle("globalThis.__rfBuild = 'B';", "rf-agent-bbbbbbbbbbbbbbbb.cjs");
    expect(run(b, ["status"], cache).hit).toBe(false);
    expect(readdirSync(cache)).toEqual(["rf-agent-bbbbbbbbbbbbbbbb.status.cache"]);
  });

  it("uses no cache when told so, or in a directory it cannot trust", () => {
    const f = bundle(BODY);
    expect(runBundle(f, ["status"], { dir: "off" })).toEqual({ cacheFile: null, hit: false });
    const open = path.join(dir, "open");
    mkdirSync(open, { mode: 0o777 });
    chmodSync(open, 0o777);
    let called = false;
    expect(runBundle(f, ["status"], { dir: open, atExit: () => (called = true) })).toEqual({
      cacheFile: null,
      hit: false,
    });
    expect(called).toBe(false);
  });
});
