import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isSha, originUrl } from "../../../src/adapters/git.js";
import { tempDir } from "../helpers/fakes.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

async function config(text: string): Promise<void> {
  await mkdir(path.join(dir, ".git"), { recursive: true });
  await writeFile(path.join(dir, ".git", "config"), text);
}

describe("originUrl", () => {
  it("reads the URL git clone wrote", async () => {
    await execa("git", ["init", "-q", dir]);
    await execa("git", ["-C", dir, "remote", "add", "origin", "https://git.example.com/app.git"]);
    expect(await originUrl(dir)).toBe("https://git.example.com/app.git");
  });

  it("ignores other remotes and other sections' url keys", async () => {
    await config(
      '[core]\n\tbare = false\n[remote "upstream"]\n\turl = /srv/other.git\n[remote "origin"]\n\turl = /srv/origin/app.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n[branch "main"]\n\tremote = origin\n',
    );
    expect(await originUrl(dir)).toBe("/srv/origin/app.git");
  });

  it("is null when it cannot tell for sure, so the caller sets the URL", async () => {
    expect(await originUrl(dir)).toBeNull(); // no .git/config
    await config('[remote "origin"]\n\turl = "/srv/with space.git"\n');
    expect(await originUrl(dir)).toBeNull(); // quoted
    await config('[remote "origin"]\n\turl = /a.git\n[remote "origin"]\n\turl = /b.git\n');
    expect(await originUrl(dir)).toBeNull(); // two URLs
    await config('[remote "upstream"]\n\turl = /a.git\n');
    expect(await originUrl(dir)).toBeNull(); // no origin
  });
});

describe("isSha", () => {
  it("accepts only full lowercase commit ids", () => {
    expect(isSha("a".repeat(40))).toBe(true);
    expect(isSha("a".repeat(12))).toBe(false);
    expect(isSha("A".repeat(40))).toBe(false);
  });
});
