// scripts/bundle.mjs writes dist/: a bundle named for its content and the entry point naming it.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

// @ts-expect-error: a build script in plain JavaScript, without types
const { bundle } = (await import("../../../scripts/bundle.mjs")) as {
  bundle: (outDir: string, define?: Record<string, string>) => Promise<string>;
};

const dir = mkdtempSync(path.join(tmpdir(), "rf-bundle-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("bundle", () => {
  it("writes the bundle, its map, the licences and cli.js naming the bundle, and nothing else", async () => {
    const name = await bundle(dir);
    expect(name).toMatch(/^rf-agent-[0-9a-f]{16}\.cjs$/);
    expect(readdirSync(dir).sort()).toEqual(
      ["THIRD-PARTY-LICENSES.txt", "cli.js", name, `${name}.map`].sort(),
    );
    expect(readFileSync(path.join(dir, "cli.js"), "utf8")).toContain(JSON.stringify(name));
    expect(statSync(path.join(dir, "cli.js")).mode & 0o777).toBe(0o755);
    expect(readFileSync(path.join(dir, name), "utf8")).toMatch(
      /sourceMappingURL=rf-agent-[0-9a-f]{16}\.cjs\.map\n$/,
    );
  }, 60_000);

  // A run starting from this dist/ while it is rebuilt must find a whole file: every file is
  // replaced by a rename (a new inode), never rewritten in place, even when its content is the same.
  it("replaces every file by a rename on a rebuild of the same content", async () => {
    const name = await bundle(dir);
    const files = ["cli.js", name, `${name}.map`, "THIRD-PARTY-LICENSES.txt"];
    const before = files.map((f) => statSync(path.join(dir, f)).ino);
    expect(await bundle(dir)).toBe(name);
    const after = files.map((f) => statSync(path.join(dir, f)).ino);
    files.forEach((f, i) => expect([f, after[i]]).not.toEqual([f, before[i]]));
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  }, 60_000);
});
