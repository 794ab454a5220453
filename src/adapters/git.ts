// git, run through simple-git as the app user, on the idle checkout only.
import { readFile, rm, stat } from "node:fs/promises";
import path from "node:path";
import type { SimpleGit } from "simple-git";
import { RfError } from "../errors.js";
import type { RunAs } from "../exec/runner.js";
import { maskUrlCredentials, tail } from "../exec/runner.js";

const SHA = /^[0-9a-f]{40}$/;

async function git(dir: string, as: RunAs | null, timeoutMs = 300_000): Promise<SimpleGit> {
  const { simpleGit } = await import("./simple-git-client.js");
  const g = simpleGit({
    baseDir: dir,
    maxConcurrentProcesses: 1,
    timeout: { block: timeoutMs },
    // We set GIT_SSH_COMMAND ourselves (BatchMode), never from user input.
    unsafe: { allowUnsafeSshCommand: true },
    ...(as ? { spawnOptions: { uid: as.uid, gid: as.gid } } : {}),
  });
  // Never prompt for credentials on a server: fail with git's message instead.
  return g.env({
    PATH: "/usr/local/bin:/usr/bin:/bin",
    HOME: as?.home ?? process.env.HOME ?? "/root",
    LANG: "C.UTF-8",
    GIT_TERMINAL_PROMPT: "0",
    GIT_SSH_COMMAND: "ssh -o BatchMode=yes",
  });
}

function gitError(action: string, e: unknown, hint: string): RfError {
  const text = e instanceof Error ? e.message : String(e);
  return new RfError("GIT", maskUrlCredentials(`git ${action} failed`), {
    hint,
    details: maskUrlCredentials(tail(text, 10)),
    cause: e,
  });
}

export function isSha(value: string): boolean {
  return SHA.test(value);
}

/** The commit a branch or tag names on the remote, or null if it has no such ref. */
export async function lsRemote(repo: string, ref: string, as: RunAs | null): Promise<string | null> {
  let out: string;
  try {
    out = await (
      await git("/", as, 60_000)
    ).listRemote([repo, `refs/heads/${ref}`, `refs/tags/${ref}`, `refs/tags/${ref}^{}`]);
  } catch (e) {
    throw gitError(
      `ls-remote ${repo}`,
      e,
      `check [app] repo and that the user can reach it (network, credentials, deploy key)`,
    );
  }
  const lines = out
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => l.split(/\s+/) as [string, string]);
  const peeled = lines.find(([, name]) => name.endsWith("^{}"));
  const hit = peeled ?? lines.find(([, name]) => name === `refs/heads/${ref}`) ?? lines[0];
  return hit ? hit[0] : null;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** Whether dir is a checkout a fetch can update (else fetchInto clones it). */
export function hasCheckout(dir: string): Promise<boolean> {
  return exists(path.join(dir, ".git"));
}

/** Clone if missing, then fetch every branch and tag. A stale index.lock from a killed run is removed. */
export async function fetchInto(dir: string, repo: string, as: RunAs | null): Promise<void> {
  const hint = "check [app] repo and that the app user can reach it (network, credentials, deploy key)";
  if (!(await hasCheckout(dir))) {
    await rm(dir, { recursive: true, force: true });
    try {
      await (await git(path.dirname(dir), as)).clone(repo, dir, ["--no-checkout"]);
    } catch (e) {
      throw gitError(`clone ${repo}`, e, hint);
    }
    return;
  }
  await rm(path.join(dir, ".git", "index.lock"), { force: true });
  const g = await git(dir, as);
  try {
    if ((await originUrl(dir)) !== repo) await g.remote(["set-url", "origin", repo]);
    await g.fetch(["--prune", "--force", "--tags", "origin", "+refs/heads/*:refs/remotes/origin/*"]);
  } catch (e) {
    throw gitError(`fetch ${repo}`, e, hint);
  }
}

/**
 * origin's URL as written in .git/config, or null when it is not written plainly there. Read from
 * the file to save a git process per deploy; anything unusual (quoting, includes) just means
 * `remote set-url` runs.
 */
export async function originUrl(dir: string): Promise<string | null> {
  const text = await readFile(path.join(dir, ".git", "config"), "utf8").catch(() => "");
  const sections = text.matchAll(/^\s*\[remote "origin"\]\s*$([\s\S]*?)(?=^\s*\[|(?![\s\S]))/gm);
  const urls = [...sections].flatMap((s) =>
    [...(s[1] ?? "").matchAll(/^\s*url\s*=\s*(.*?)\s*$/gm)].map((m) => m[1] ?? ""),
  );
  const url = urls.length === 1 ? urls[0]! : null;
  return url && !/["\\;#]/.test(url) ? url : null;
}

/** REF as a branch of origin, a tag or a (possibly short) commit id, to a full commit sha. */
export async function resolveRef(dir: string, ref: string, as: RunAs | null): Promise<string | null> {
  const g = await git(dir, as);
  for (const candidate of [`refs/remotes/origin/${ref}`, `refs/tags/${ref}`, ref]) {
    try {
      const sha = (await g.revparse(["--verify", "--quiet", `${candidate}^{commit}`])).trim();
      if (isSha(sha)) return sha;
    } catch {
      // not this form of ref; try the next
    }
  }
  return null;
}

/** Exactly this commit, nothing else: detached, forced, and every untracked or ignored file removed. */
export async function checkoutClean(dir: string, sha: string, as: RunAs | null): Promise<void> {
  const g = await git(dir, as);
  try {
    await rm(path.join(dir, ".git", "index.lock"), { force: true });
    await g.raw(["checkout", "--force", "--detach", sha]);
    await g.raw(["clean", "-ffdxq"]);
  } catch (e) {
    throw gitError(
      `checkout ${sha.slice(0, 12)}`,
      e,
      `the idle checkout ${dir} is damaged; remove it and deploy again`,
    );
  }
}

/** The commit checked out in dir, read from .git/HEAD (our checkouts are always detached). */
export async function headSha(dir: string, as: RunAs | null): Promise<string | null> {
  let head: string;
  try {
    head = (await readFile(path.join(dir, ".git", "HEAD"), "utf8")).trim();
  } catch {
    return null;
  }
  if (isSha(head)) return head;
  try {
    const sha = (await (await git(dir, as, 30_000)).revparse(["HEAD"])).trim();
    return isSha(sha) ? sha : null;
  } catch {
    return null;
  }
}
