import { mkdir, readdir, readFile, stat, writeFile, chmod } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ensureDir, readIfExists, writeAtomic, writeIfChanged } from "../../../src/adapters/files.js";
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
  it("creates a directory with the mode, and fixes the mode of an existing one", async () => {
    const d = path.join(dir, "state", "demo");
    await ensureDir(d, 0o700);
    expect(await modeOf(d)).toBe(0o700);
    await chmod(d, 0o755);
    await ensureDir(d, 0o700);
    expect(await modeOf(d)).toBe(0o700);
  });
});
