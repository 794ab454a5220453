import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { buildInfo, checkoutCommit, versionText } from "../../src/version.js";

const SHA = "0123456789abcdef0123456789abcdef01234567";

function gitDir(head: string, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), "rf-version-"));
  mkdirSync(path.join(dir, ".git", "refs", "heads"), { recursive: true });
  writeFileSync(path.join(dir, ".git", "HEAD"), head);
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, ".git", name), text);
  return dir;
}

describe("checkoutCommit", () => {
  it("follows HEAD to its branch, loose or packed, or takes a detached HEAD as it is", () => {
    expect(checkoutCommit(gitDir("ref: refs/heads/main\n", { "refs/heads/main": `${SHA}\n` }))).toBe(SHA);
    expect(
      checkoutCommit(
        gitDir("ref: refs/heads/main\n", { "packed-refs": `# pack-refs\n${SHA} refs/heads/main\n` }),
      ),
    ).toBe(SHA);
    expect(checkoutCommit(gitDir(`${SHA}\n`))).toBe(SHA);
  });

  it("says unknown without a checkout or with a HEAD it cannot read", () => {
    expect(checkoutCommit(mkdtempSync(path.join(tmpdir(), "rf-version-")))).toBe("unknown");
    expect(checkoutCommit(gitDir("ref: refs/heads/gone\n"))).toBe("unknown");
    expect(checkoutCommit(gitDir("garbage\n"))).toBe("unknown");
  });
});

describe("versionText", () => {
  it("names the version and the commit", () => {
    expect(versionText({ version: "1.2.3", commit: SHA })).toBe(`rf-agent 1.2.3 (commit ${SHA})`);
  });

  it("from a checkout: package.json's version", () => {
    expect(buildInfo().version).toMatch(/^\d+\.\d+\.\d+/);
  });
});
