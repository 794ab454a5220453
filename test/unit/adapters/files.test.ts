import { mkdir, readdir, readFile, stat, writeFile, chmod, symlink, lstat } from "node:fs/promises";
import { execa } from "execa";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ensureDir,
  ensureOwnedDir,
  isDirBeneath,
  readBeneath,
  readIfExists,
  writeAtomic,
  writeIfChanged,
} from "../../../src/adapters/files.js";
import { tempDir } from "../helpers/fakes.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

const modeOf = async (p: string) => (await stat(p)).mode & 0o777;

describe("writeAtomic", () => {
  it("writes the content with the mode, creating missing directories", async () => {
    const file = path.join(dir, "a", "b", "site.conf");
    await writeAtomic(file, "hello\n", 0o640);
    expect(await readFile(file, "utf8")).toBe("hello\n");
    expect(await modeOf(file)).toBe(0o640);
  });

  it("uses 0644 unless told otherwise, whatever the umask", async () => {
    const file = path.join(dir, "default.conf");
    const old = process.umask(0o077);
    try {
      await writeAtomic(file, "x");
    } finally {
      process.umask(old);
    }
    expect(await modeOf(file)).toBe(0o644);
  });

  it("replaces an existing file, and its mode", async () => {
    const file = path.join(dir, "state.json");
    await writeFile(file, "old content that is longer than the new one");
    await chmod(file, 0o666);
    await writeAtomic(file, "new", 0o600);
    expect(await readFile(file, "utf8")).toBe("new");
    expect(await modeOf(file)).toBe(0o600);
  });

  it("leaves no temp file behind", async () => {
    const file = path.join(dir, "live.conf");
    await writeAtomic(file, "one");
    await writeAtomic(file, "two");
    expect(await readdir(dir)).toEqual(["live.conf"]);
  });

  it("removes its temp file when the rename fails", async () => {
    // The target is a non-empty directory: rename(2) over it fails.
    const target = path.join(dir, "taken");
    await mkdir(path.join(target, "inner"), { recursive: true });
    await expect(writeAtomic(target, "x")).rejects.toThrow();
    expect((await readdir(dir)).sort()).toEqual(["taken"]);
  });
});

describe("writeIfChanged", () => {
  it("writes a new file and says it changed", async () => {
    const file = path.join(dir, "u.service");
    expect(await writeIfChanged(file, "A")).toBe(true);
    expect(await readFile(file, "utf8")).toBe("A");
  });

  it("returns false and leaves the file alone when the content is the same", async () => {
    const file = path.join(dir, "u.service");
    await writeIfChanged(file, "A");
    const before = await stat(file);
    expect(await writeIfChanged(file, "A")).toBe(false);
    expect((await stat(file)).ino).toBe(before.ino);
  });

  it("still puts the mode right when the content is the same", async () => {
    const file = path.join(dir, "u.service");
    await writeIfChanged(file, "A", 0o600);
    expect(await writeIfChanged(file, "A", 0o644)).toBe(false);
    expect(await modeOf(file)).toBe(0o644);
  });

  it("returns true and rewrites when the content differs", async () => {
    const file = path.join(dir, "u.service");
    await writeIfChanged(file, "A");
    expect(await writeIfChanged(file, "B")).toBe(true);
    expect(await readFile(file, "utf8")).toBe("B");
  });
});

describe("readIfExists", () => {
  it("reads a file", async () => {
    const file = path.join(dir, "f");
    await writeFile(file, "content");
    expect(await readIfExists(file)).toBe("content");
  });

  it("returns null for a missing file or directory", async () => {
    expect(await readIfExists(path.join(dir, "missing"))).toBeNull();
    expect(await readIfExists(path.join(dir, "no", "such", "dir", "f"))).toBeNull();
  });

  it("throws on other errors", async () => {
    await expect(readIfExists(dir)).rejects.toMatchObject({ code: "EISDIR" });
  });
});

describe("ensureDir", () => {
  it("creates a directory with the mode, and leaves an existing one exactly as it is", async () => {
    const d = path.join(dir, "state", "demo");
    await ensureDir(d, 0o700);
    expect(await modeOf(d)).toBe(0o700);
    await chmod(d, 0o755);
    await ensureDir(d, 0o700);
    // secret_file = /etc/x must never make /etc 0700
    expect(await modeOf(d)).toBe(0o755);
  });
});

describe("readBeneath", () => {
  it("reads a regular file below the directory", async () => {
    await mkdir(path.join(dir, ".git"));
    await writeFile(path.join(dir, ".git", "HEAD"), "abc\n");
    expect(await readBeneath(dir, ".git/HEAD")).toBe("abc\n");
  });

  it("refuses a link anywhere on the way, a FIFO, a directory, a large file, and ..", async () => {
    const outside = path.join(dir, "outside");
    await mkdir(path.join(outside, "sub"), { recursive: true });
    await writeFile(path.join(outside, "secret"), "s");
    await writeFile(path.join(outside, "sub", "secret"), "s");
    const base = path.join(dir, "base");
    await mkdir(base);
    await symlink(path.join(outside, "secret"), path.join(base, "file-link"));
    await symlink(path.join(outside, "sub"), path.join(base, "dir-link"));
    await execa("mkfifo", [path.join(base, "fifo")]);
    await writeFile(path.join(base, "big"), "x".repeat(100));
    expect(await readBeneath(base, "file-link")).toBeNull();
    expect(await readBeneath(base, "dir-link/secret")).toBeNull();
    expect(await readBeneath(base, "fifo")).toBeNull();
    expect(await readBeneath(dir, "base")).toBeNull();
    expect(await readBeneath(base, "big", 99)).toBeNull();
    expect(await readBeneath(base, "big", 100)).toBe("x".repeat(100));
    expect(await readBeneath(base, "../outside/secret")).toBeNull();
    expect(await readBeneath(base, "missing")).toBeNull();
    expect(await isDirBeneath(base, "dir-link")).toBe(false);
    expect(await isDirBeneath(dir, "outside/sub")).toBe(true);
  });
});

describe("ensureOwnedDir", () => {
  const me = { uid: process.getuid!(), gid: process.getgid!() };

  it("refuses a parent that others could write", async () => {
    const parent = path.join(dir, "open");
    await mkdir(parent);
    await chmod(parent, 0o777);
    await expect(ensureOwnedDir(path.join(parent, "x"), me, 0o750)).rejects.toMatchObject({ code: "STATE" });
  });

  it.runIf(process.getuid?.() === 0)(
    "makes the directory, and replaces a symlink planted there instead of following it",
    async () => {
      await chmod(dir, 0o755);
      const target = path.join(dir, "target");
      await mkdir(target, { mode: 0o700 });
      const d = path.join(dir, "venvs");
      await symlink(target, d);
      await ensureOwnedDir(d, { uid: 4321, gid: 4321 }, 0o750);
      const st = await lstat(d);
      expect(st.isDirectory()).toBe(true);
      expect([st.uid, st.gid, st.mode & 0o7777]).toEqual([4321, 4321, 0o750]);
      const t = await stat(target);
      expect([t.uid, t.mode & 0o7777]).toEqual([0, 0o700]);
    },
  );
});
