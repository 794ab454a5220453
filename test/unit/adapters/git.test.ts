import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  checkoutAndShow,
  fetchForCheckout,
  fetchInto,
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

describe("fetchInto, checkoutAndShow", () => {
  it("clones into the empty checkout, fetches later commits, checks out exactly the commit", async () => {
    const o = await origin();
    const first = await o.commit({ "requirements.txt": "fastapi\n" });
    const checkout = path.join(dir, "blue");
    await mkdir(checkout);
    await writeFile(path.join(checkout, "leftover"), "x"); // a half-done earlier clone
    const u = localUser();
    // One unit: the clone or fetch also says what a ref names (a branch, a tag, a short commit id).
    await expect(fetchInto(checkout, o.repo, u, "main")).resolves.toBe(first);
    expect(await hasCheckout(checkout)).toBe(true);
    const second = await o.commit({ "app.py": "print(1)\n" });
    await expect(fetchInto(checkout, o.repo, u, "main")).resolves.toBe(second);
    await expect(fetchInto(checkout, o.repo, u, first.slice(0, 10))).resolves.toBe(first);
    await expect(fetchInto(checkout, o.repo, u, "no-such-branch")).resolves.toBeNull();
    await expect(fetchInto(checkout, o.repo, u, "--help")).resolves.toBeNull();
    await expect(fetchInto(checkout, o.repo, u)).resolves.toBeNull();
    await writeFile(path.join(checkout, "untracked"), "x");
    // One unit: the checkout also reads a file out of the commit.
    await expect(checkoutAndShow(checkout, first, "requirements.txt", u)).resolves.toEqual({
      text: "fastapi",
    });
    expect(await headSha(checkout, u)).toBe(first);
    await expect(checkoutAndShow(checkout, second, "nothing.txt", u)).resolves.toEqual({ missing: "absent" });
    expect(await headSha(checkout, u)).toBe(second);
    await expect(checkoutAndShow(checkout, "f".repeat(40), "requirements.txt", u)).rejects.toMatchObject({
      code: "GIT",
      message: expect.stringContaining("checkout ffffffffffff failed"),
    });
    await writeFile(path.join(checkout, "untracked"), "x");
    await checkoutAndShow(checkout, first, "requirements.txt", u);
    expect(await headSha(checkout, u)).toBe(first);
    await expect(execa("ls", ["-A", checkout])).resolves.toMatchObject({ stdout: ".git\nrequirements.txt" });
    // Every git run is the app user's, in a sandbox named for the app.
    expect(u.calls.every((c) => c.as?.uid === 999 && c.sandbox?.unit === "rf-agent-demo-git")).toBe(true);
    expect(u.calls.every((c) => c.env?.GIT_ALLOW_PROTOCOL === "file:git:http:https:ssh")).toBe(true);
  });

  it("puts origin's URL right when [app] repo changed", async () => {
    const o = await origin();
    await o.commit({ a: "1" });
    const checkout = path.join(dir, "blue");
    await mkdir(checkout);
    const u = localUser();
    await fetchInto(checkout, path.join(dir, "nowhere"), u).catch(() => undefined);
    await fetchInto(checkout, o.repo, u);
    const url = await execa("git", ["-C", checkout, "config", "remote.origin.url"]);
    expect(url.stdout).toBe(o.repo);
  });

  it("says which repository failed, with git's own words", async () => {
    const checkout = path.join(dir, "blue");
    await mkdir(checkout);
    await expect(fetchInto(checkout, path.join(dir, "missing.git"), localUser())).rejects.toMatchObject({
      code: "GIT",
      message: expect.stringContaining("clone"),
      details: expect.stringMatching(/does not exist|not appear to be a git repository/),
    });
  });
});

describe("checkoutAndShow, the file", () => {
  it("reads a regular file from the commit, never a link or a tree", async () => {
    const o = await origin();
    const sha = await o.commit({
      "requirements.txt": "fastapi\n",
      "linked.txt": "->/etc/shadow",
      "deps/x.txt": "y\n",
    });
    const u = localUser();
    const checkout = path.join(dir, "blue");
    await mkdir(checkout);
    await fetchInto(checkout, o.repo, u);
    const show = (file: string) => checkoutAndShow(checkout, sha, file, u);
    expect(await show("requirements.txt")).toEqual({ text: "fastapi" }); // the runner drops the final newline; only hashed;
    expect(await show("linked.txt")).toEqual({ missing: "not a regular file" });
    expect(await show("deps")).toEqual({ missing: "not a regular file" });
    expect(await show("nope.txt")).toEqual({ missing: "absent" });
  });
});

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
    await fetchInto(checkout, o.repo, u);
    await rm(path.join(checkout, ".git", "HEAD"));
    await execa("mkfifo", [path.join(checkout, ".git", "HEAD")]);
    await expect(fetchInto(checkout, o.repo, u, "main")).resolves.toBe(tip);
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

  it("names the commit, and checks it out only when asked, reading the file as checkoutAndShow does", async () => {
    const { o, checkout, u } = await setUp();
    const first = await o.commit({ "requirements.txt": "fastapi\r\nuvicorn==0.30\n", "b.txt": "no newline" });
    const one = await fetchForCheckout(checkout, o.repo, u, "main", "requirements.txt");
    expect(one.sha).toBe(first);
    // Nothing checked out yet: the unit waits for root's word.
    await expect(execa("ls", ["-A", checkout])).resolves.toMatchObject({ stdout: ".git" });
    expect(await one.checkout()).toEqual({ text: "fastapi\r\nuvicorn==0.30" });
    expect(await headSha(checkout, u)).toBe(first);
    // Byte for byte what the separate checkout reads (the venv marker is made of it).
    expect(await checkoutAndShow(checkout, first, "requirements.txt", u)).toEqual({
      text: "fastapi\r\nuvicorn==0.30",
    });
    const b = await fetchForCheckout(checkout, o.repo, u, first.slice(0, 10), "b.txt");
    expect(await b.checkout()).toEqual(await checkoutAndShow(checkout, first, "b.txt", u));
    // One unit for each: the sandbox and its user as for every git run.
    expect(u.calls.every((c) => c.as?.uid === 999 && c.sandbox?.unit === "rf-agent-demo-git")).toBe(true);
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

  it("names no commit for an unknown ref or one that looks like an option", async () => {
    const { o, checkout, u } = await setUp();
    await o.commit({ "requirements.txt": "a\n" });
    for (const ref of ["no-such-branch", "--help"]) {
      const fetched = await fetchForCheckout(checkout, o.repo, u, ref, "requirements.txt");
      expect(fetched.sha).toBeNull();
      await fetched.cancel();
    }
  });

  it("reports the file missing, a link, or too large, as checkoutAndShow does", async () => {
    const { o, checkout, u } = await setUp();
    await o.commit({ "linked.txt": "->/etc/shadow", "big.txt": "x".repeat(1024 * 1024 + 1) });
    const show = async (file: string) =>
      (await fetchForCheckout(checkout, o.repo, u, "main", file)).checkout();
    expect(await show("nope.txt")).toEqual({ missing: "absent" });
    expect(await show("linked.txt")).toEqual({ missing: "not a regular file" });
    expect(await show("big.txt")).toEqual({ missing: "too large" });
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
