import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  fetchForCheckout,
  hasCheckout,
  headSha,
  isSha,
  lsRemote,
  type GitUser,
} from "../../../src/adapters/git.js";
import { createRunner, type RunOptions, type Runner } from "../../../src/exec/runner.js";
import { fakeRunner, captureLogger, tempDir } from "../helpers/fakes.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

// The real runner without the parts that need root and systemd (the user switch and the transient
// unit): the scripts and git itself run for real on temporary repositories.
function localUser(): GitUser & { calls: RunOptions[] } {
  const real = createRunner(captureLogger("error").log);
  const calls: RunOptions[] = [];
  const run: Runner = (file, args, options = {}) => {
    calls.push(options);
    const { as: _as, sandbox: _sandbox, ...rest } = options;
    return real(file, args, { ...rest, env: { ...rest.env, HOME: dir, PATH: process.env.PATH ?? "" } });
  };
  return { run, as: { uid: 999, gid: 999, home: "/srv/demo" }, app: "demo", calls };
}

async function origin(): Promise<{
  repo: string;
  commit: (files: Record<string, string>) => Promise<string>;
}> {
  const repo = path.join(dir, "origin");
  await execa("git", ["init", "-q", "-b", "main", repo]);
  const git = (...args: string[]) =>
    execa("git", ["-C", repo, "-c", "user.email=t@t", "-c", "user.name=t", ...args]);
  return {
    repo,
    commit: async (files) => {
      for (const [name, text] of Object.entries(files)) {
        const file = path.join(repo, name);
        await mkdir(path.dirname(file), { recursive: true });
        if (text.startsWith("->")) await symlink(text.slice(2), file);
        else await writeFile(file, text);
      }
      await git("add", "-A");
      await git("commit", "-qm", "c");
      return (await git("rev-parse", "HEAD")).stdout.trim();
    },
  };
}

describe("lsRemote", () => {
  it("returns the branch tip, or null for a branch that is not there", async () => {
    const o = await origin();
    const sha = await o.commit({ a: "1" });
    const u = localUser();
    expect(await lsRemote(o.repo, "main", u)).toBe(sha);
    expect(await lsRemote(o.repo, "nope", u)).toBeNull();
    expect(u.calls[0]).toMatchObject({ cwd: "/", sandbox: { writable: [] } });
  });
});

describe("headSha", () => {
  it("reads .git/HEAD without following links or blocking on a FIFO", async () => {
    const checkout = path.join(dir, "blue");
    await mkdir(path.join(checkout, ".git"), { recursive: true });
    const sha = "a".repeat(40);
    await writeFile(path.join(checkout, ".git", "HEAD"), sha + "\n");
    const run = fakeRunner();
    const u: GitUser = { run, as: { uid: 1, gid: 1, home: "/" }, app: "demo" };
    expect(await headSha(checkout, u)).toBe(sha);

    await rm(path.join(checkout, ".git", "HEAD"));
    await execa("mkfifo", [path.join(checkout, ".git", "HEAD")]);
    expect(await headSha(checkout, u)).toBeNull();

    const elsewhere = await mkdtemp(path.join(os.tmpdir(), "rf-git-"));
    try {
      await mkdir(path.join(elsewhere, ".git"));
      await writeFile(path.join(elsewhere, ".git", "HEAD"), sha);
      await rm(path.join(checkout, ".git"), { recursive: true });
      await symlink(path.join(elsewhere, ".git"), path.join(checkout, ".git"));
      expect(await headSha(checkout, u)).toBeNull();
      expect(await hasCheckout(checkout)).toBe(false);
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
    expect(run.calls).toEqual([]);
  });
});

describe("hasCheckout", () => {
  it("is a checkout only with .git a directory and its HEAD and config regular files", async () => {
    const checkout = path.join(dir, "blue");
    await mkdir(path.join(checkout, ".git"), { recursive: true });
    await writeFile(path.join(checkout, ".git", "HEAD"), "a".repeat(40));
    await writeFile(path.join(checkout, ".git", "config"), "");
    expect(await hasCheckout(checkout)).toBe(true);
    for (const file of ["HEAD", "config"]) {
      await rm(path.join(checkout, ".git", file));
      await execa("mkfifo", [path.join(checkout, ".git", file)]);
      expect(await hasCheckout(checkout)).toBe(false);
      await rm(path.join(checkout, ".git", file));
      await writeFile(path.join(checkout, ".git", file), "");
    }
  });

  it("clones afresh over a checkout whose .git/HEAD is a FIFO, instead of letting git block on it", async () => {
    const o = await origin();
    const tip = await o.commit({ a: "1" });
    const checkout = path.join(dir, "blue");
    await mkdir(checkout);
    const u = localUser();
    await (await fetchForCheckout(checkout, o.repo, u, "main", "a")).cancel();
    expect(await hasCheckout(checkout)).toBe(true);
    await rm(path.join(checkout, ".git", "HEAD"));
    await execa("mkfifo", [path.join(checkout, ".git", "HEAD")]);
    const fetched = await fetchForCheckout(checkout, o.repo, u, "main", "a");
    expect(fetched.sha).toBe(tip);
    expect(await fetched.checkout()).toEqual({ text: "1" });
  });
});

describe("isSha", () => {
  it("accepts only full lowercase commit ids", () => {
    expect(isSha("a".repeat(40))).toBe(true);
    expect(isSha("a".repeat(12))).toBe(false);
    expect(isSha("A".repeat(40))).toBe(false);
  });
});

describe("fetchForCheckout: the fetch and the checkout in one unit", () => {
  async function setUp() {
    const o = await origin();
    const checkout = path.join(dir, "blue");
    await mkdir(checkout);
    return { o, checkout, u: localUser() };
  }

  /** The commit the unit names for `ref`, ended without a checkout. */
  async function named(checkout: string, repo: string, u: GitUser, ref: string): Promise<string | null> {
    const fetched = await fetchForCheckout(checkout, repo, u, ref, "requirements.txt");
    await fetched.cancel();
    return fetched.sha;
  }

  it("clones into the emptied checkout, fetches later, and names what a branch, a tag or a short id names", async () => {
    const { o, checkout, u } = await setUp();
    const first = await o.commit({ "requirements.txt": "fastapi\n" });
    await writeFile(path.join(checkout, "leftover"), "x"); // a half-done earlier clone
    expect(await named(checkout, o.repo, u, "main")).toBe(first);
    expect(await hasCheckout(checkout)).toBe(true);
    await expect(execa("ls", ["-A", checkout])).resolves.toMatchObject({ stdout: ".git" });
    // From now on a fetch, not a clone afresh: a clone would empty the directory.
    await writeFile(path.join(checkout, ".git", "kept"), "");
    await execa("git", ["-C", o.repo, "tag", "v1"]);
    const second = await o.commit({ "app.py": "print(1)\n" });
    expect(await named(checkout, o.repo, u, "main")).toBe(second);
    expect(await named(checkout, o.repo, u, "v1")).toBe(first);
    expect(await named(checkout, o.repo, u, first.slice(0, 10))).toBe(first);
    await expect(execa("test", ["-e", path.join(checkout, ".git", "kept")])).resolves.toMatchObject({
      exitCode: 0,
    });
  });

  it("names no commit for an unknown branch or commit, an empty ref, or one that looks like an option", async () => {
    const { o, checkout, u } = await setUp();
    await o.commit({ "requirements.txt": "a\n" });
    for (const ref of ["no-such-branch", "f".repeat(40), "", "--help"]) {
      const fetched = await fetchForCheckout(checkout, o.repo, u, ref, "requirements.txt");
      expect(fetched.sha, ref).toBeNull();
      await expect(fetched.checkout()).rejects.toThrow("no commit to check out");
      await fetched.cancel();
    }
  });

  it("names the commit, and checks it out only when asked: exactly that commit, nothing else", async () => {
    const { o, checkout, u } = await setUp();
    const first = await o.commit({ "requirements.txt": "fastapi\n" });
    const second = await o.commit({ "app.py": "print(1)\n" });
    const one = await fetchForCheckout(checkout, o.repo, u, "main", "requirements.txt");
    expect(one.sha).toBe(second);
    // Nothing checked out yet: the unit waits for root's word.
    await expect(execa("ls", ["-A", checkout])).resolves.toMatchObject({ stdout: ".git" });
    expect(await one.checkout()).toEqual({ text: "fastapi" });
    expect(await headSha(checkout, u)).toBe(second);
    // Detached, forced, every untracked or ignored file removed.
    await writeFile(path.join(checkout, "requirements.txt"), "edited\n");
    await writeFile(path.join(checkout, "untracked"), "x");
    await mkdir(path.join(checkout, ".git", "info"), { recursive: true });
    await writeFile(path.join(checkout, ".git", "info", "exclude"), "ignored\n");
    await writeFile(path.join(checkout, "ignored"), "x");
    const two = await fetchForCheckout(checkout, o.repo, u, first.slice(0, 10), "requirements.txt");
    expect(await two.checkout()).toEqual({ text: "fastapi" });
    expect(await headSha(checkout, u)).toBe(first);
    await expect(execa("ls", ["-A", checkout])).resolves.toMatchObject({ stdout: ".git\nrequirements.txt" });
    await expect(execa("cat", [path.join(checkout, "requirements.txt")])).resolves.toMatchObject({
      stdout: "fastapi",
    });
    // Every git run is the app user's, in a sandbox named for the app, over ordinary transports only.
    expect(u.calls.every((c) => c.as?.uid === 999 && c.sandbox?.unit === "rf-agent-demo-git")).toBe(true);
    expect(u.calls.every((c) => c.env?.GIT_ALLOW_PROTOCOL === "file:git:http:https:ssh")).toBe(true);
  });

  it("leaves the checkout as it was when cancelled (a failed check, or the live commit again)", async () => {
    const { o, checkout, u } = await setUp();
    const first = await o.commit({ "requirements.txt": "a\n" });
    await (await fetchForCheckout(checkout, o.repo, u, "main", "requirements.txt")).checkout();
    const second = await o.commit({ "requirements.txt": "b\n" });
    const fetched = await fetchForCheckout(checkout, o.repo, u, "main", "requirements.txt");
    expect(fetched.sha).toBe(second);
    await fetched.cancel();
    await fetched.cancel();
    expect(await headSha(checkout, u)).toBe(first);
    await expect(execa("git", ["-C", checkout, "cat-file", "-t", second])).resolves.toMatchObject({
      stdout: "commit",
    });
  });

  it("reads the file as the commit holds it, less one final newline; never a link, a tree or one too large", async () => {
    const { o, checkout, u } = await setUp();
    const texts: Record<string, string> = {
      "requirements.txt": "fastapi\n",
      "crlf.txt": "fastapi\r\nuvicorn==0.30\r\n",
      "mixed.txt": "fastapi\r\nuvicorn==0.30\n",
      "b.txt": "no newline",
      "two.txt": "a\n\n",
      "utf8.txt": "café==1.0 # ünïcode\n",
      "deps/x.txt": "y\n",
      "cap.txt": "x".repeat(1024 * 1024),
    };
    const sha = await o.commit({
      ...texts,
      "linked.txt": "->/etc/shadow",
      "big.txt": "x".repeat(1024 * 1024 + 1),
    });
    const show = async (file: string) =>
      (await fetchForCheckout(checkout, o.repo, u, "main", file)).checkout();
    // What git holds less one final "\n" or "\r\n", as execa reads `git show` of it (beside each):
    // the venv's marker is made of this text.
    const expected: Record<string, string> = {
      "requirements.txt": "fastapi",
      "crlf.txt": "fastapi\r\nuvicorn==0.30",
      "mixed.txt": "fastapi\r\nuvicorn==0.30",
      "b.txt": "no newline",
      "two.txt": "a\n",
      "utf8.txt": "café==1.0 # ünïcode",
      "deps/x.txt": "y",
      "cap.txt": "x".repeat(1024 * 1024),
    };
    for (const [file, text] of Object.entries(expected)) {
      expect(await show(file), file).toEqual({ text });
      await expect(execa("git", ["-C", o.repo, "show", `${sha}:${file}`])).resolves.toMatchObject({
        stdout: text,
      });
    }
    expect(await show("nope.txt")).toEqual({ missing: "absent" });
    expect(await show("linked.txt")).toEqual({ missing: "not a regular file" });
    expect(await show("deps")).toEqual({ missing: "not a regular file" });
    expect(await show("big.txt")).toEqual({ missing: "too large" });
    // The commit is checked out all the same: the caller refuses the release.
    expect(await headSha(checkout, u)).toBe(sha);
  });

  it("removes a stale index.lock before the fetch; a checkout that fails says so, with the fix", async () => {
    const { o, checkout, u } = await setUp();
    const first = await o.commit({ "requirements.txt": "a\n" });
    await (await fetchForCheckout(checkout, o.repo, u, "main", "requirements.txt")).checkout();
    const second = await o.commit({ "requirements.txt": "b\n" });
    // Left behind by a run killed mid-checkout: the next fetch removes it.
    await writeFile(path.join(checkout, ".git", "index.lock"), "");
    const next = await fetchForCheckout(checkout, o.repo, u, "main", "requirements.txt");
    expect(await next.checkout()).toEqual({ text: "b" });
    expect(await headSha(checkout, u)).toBe(second);
    // Taken while the unit waits for root's word: git refuses to check out.
    const fetched = await fetchForCheckout(checkout, o.repo, u, first, "requirements.txt");
    expect(fetched.sha).toBe(first);
    await writeFile(path.join(checkout, ".git", "index.lock"), "");
    await expect(fetched.checkout()).rejects.toMatchObject({
      code: "GIT",
      message: `git checkout ${first.slice(0, 12)} failed`,
      hint: `the idle checkout ${checkout} is damaged; remove it and deploy again`,
      details: expect.stringContaining("index.lock"),
    });
    expect(await headSha(checkout, u)).toBe(second);
  });

  it("clones afresh after a failed clone, and puts origin's URL right when [app] repo changed", async () => {
    const { o, checkout, u } = await setUp();
    const tip = await o.commit({ a: "1" });
    const nowhere = fetchForCheckout(checkout, path.join(dir, "nowhere"), u, "main", "a");
    await expect(nowhere).rejects.toMatchObject({ code: "GIT" });
    expect(await named(checkout, o.repo, u, "main")).toBe(tip);
    const url = async () => (await execa("git", ["-C", checkout, "config", "remote.origin.url"])).stdout;
    expect(await url()).toBe(o.repo);
    // The repository moved, with a commit only the new place has: fetched from there, not cloned.
    const moved = path.join(dir, "moved");
    await execa("git", ["clone", "-q", o.repo, moved]);
    const who = ["-c", "user.email=t@t", "-c", "user.name=t"];
    await execa("git", ["-C", moved, ...who, "commit", "-q", "--allow-empty", "-m", "moved"]);
    const movedTip = (await execa("git", ["-C", moved, "rev-parse", "HEAD"])).stdout;
    await writeFile(path.join(checkout, ".git", "kept"), "");
    expect(await named(checkout, moved, u, "main")).toBe(movedTip);
    expect(await url()).toBe(moved);
    await expect(execa("test", ["-e", path.join(checkout, ".git", "kept")])).resolves.toMatchObject({
      exitCode: 0,
    });
  });

  it("says which repository failed, with git's own words", async () => {
    const { checkout, u } = await setUp();
    await expect(
      fetchForCheckout(checkout, path.join(dir, "missing.git"), u, "main", "requirements.txt"),
    ).rejects.toMatchObject({
      code: "GIT",
      message: expect.stringContaining("clone"),
      details: expect.stringMatching(/does not exist|not appear to be a git repository/),
    });
  });
});
