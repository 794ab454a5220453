// git, always as the app user in a sandbox (a transient unit through the runner), on the idle
// checkout only. Root reads nothing of a checkout but .git/HEAD, and that without following links.
import path from "node:path";
import { RfError } from "../errors.js";
import type { Runner, RunAs, RunOptions } from "../exec/runner.js";
import { maskUrlCredentials, tail } from "../exec/runner.js";
import { isDirBeneath, isFileBeneath, readBeneath } from "./files.js";

const SHA = /^[0-9a-f]{40}$/;
/** The largest requirements file rf-agent reads out of a commit. */
export const MAX_REQUIREMENTS_BYTES = 1024 * 1024;

/** Who runs git, and where its units are named from. */
export interface GitUser {
  run: Runner;
  as: RunAs;
  /** The app's name, for the transient units' names. */
  app: string;
}

// Ordinary transports only: `ext::` would run a command of the repository URL's choosing.
const ALLOWED_PROTOCOLS = "file:git:http:https:ssh";

function gitOptions(u: GitUser, writable: string[], cwd: string, timeoutMs: number): RunOptions {
  return {
    as: u.as,
    cwd,
    sandbox: { unit: `rf-agent-${u.app}-git`, writable },
    timeoutMs,
    env: {
      GIT_TERMINAL_PROMPT: "0",
      GIT_SSH_COMMAND: "ssh -o BatchMode=yes",
      GIT_ALLOW_PROTOCOL: ALLOWED_PROTOCOLS,
    },
    code: "GIT",
  };
}

/** A fixed script run by sh with our values as "$1"…: nothing from them is ever parsed as shell. */
function script(u: GitUser, text: string, args: string[], opts: RunOptions): ReturnType<Runner> {
  return u.run("/bin/sh", ["-euc", text, "rf-agent-git", ...args], opts);
}

function gitError(action: string, e: unknown, hint: string): RfError {
  const text =
    e instanceof RfError
      ? [e.message, e.details].filter(Boolean).join("\n")
      : e instanceof Error
        ? e.message
        : String(e);
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
export async function lsRemote(repo: string, ref: string, u: GitUser): Promise<string | null> {
  let out: string;
  try {
    out = (
      await u.run(
        "git",
        ["ls-remote", repo, `refs/heads/${ref}`, `refs/tags/${ref}`, `refs/tags/${ref}^{}`],
        gitOptions(u, [], "/", 60_000),
      )
    ).stdout;
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
  return hit && isSha(hit[0]) ? hit[0] : null;
}

/**
 * Whether dir is a checkout a fetch can update (else fetchForCheckout clones it afresh): `.git` a
 * real directory, its HEAD and config regular files. A FIFO there would block git until its timeout.
 */
export async function hasCheckout(dir: string): Promise<boolean> {
  const [git, head, config] = await Promise.all([
    isDirBeneath(dir, ".git"),
    isFileBeneath(dir, ".git/HEAD"),
    isFileBeneath(dir, ".git/config"),
  ]);
  return git && head && config;
}

// Empties the directory (as the app user: a recursive delete by root could be steered elsewhere by
// a directory swapped for a symlink), then clones into it.
const CLONE = `find . -mindepth 1 -delete
git clone --quiet --no-checkout -- "$1" .`;

// origin's URL is put right only when it differs; a stale index.lock from a killed run is removed.
const FETCH = `rm -f .git/index.lock
if [ "$(git config --get remote.origin.url || true)" != "$1" ]; then
  git remote set-url origin "$1" 2>/dev/null || git remote add origin "$1"
fi
git fetch --quiet --prune --force --tags origin '+refs/heads/*:refs/remotes/origin/*'`;

/** What a ref may be, in the order tried: a branch of origin, a tag, a (possibly short) commit id. */
const candidates = (ref: string) => [`refs/remotes/origin/${ref}`, `refs/tags/${ref}`, ref];

export type FileInCommit = { text: string } | { missing: "absent" | "not a regular file" | "too large" };

/**
 * The exits of THEN_CHECKOUT_AND_SHOW's checkout but a clean one: 10 the checkout failed; the file,
 * read from git's objects rather than the work tree, is 2 absent, 3 not a regular file (a link is
 * never followed, a tree never read), 4 larger than the cap.
 */
function fileOrFailure(r: Awaited<ReturnType<Runner>>, sha: string, file: string, dir: string): FileInCommit {
  if (r.exitCode === 10) {
    throw gitError(
      `checkout ${sha.slice(0, 12)}`,
      new Error(r.stderr || r.stdout),
      `the idle checkout ${dir} is damaged; remove it and deploy again`,
    );
  }
  if (r.exitCode === 2) return { missing: "absent" };
  if (r.exitCode === 3) return { missing: "not a regular file" };
  if (r.exitCode === 4) return { missing: "too large" };
  throw new RfError("GIT", `git could not read ${file} from ${sha.slice(0, 12)}`, {
    hint: "the idle checkout may be damaged; remove it and deploy again",
    details: tail(r.stderr || r.stdout, 10) || undefined,
  });
}

// The fetch and the checkout in one unit (each transient unit costs a namespace set-up, ~0.1 s on a
// busy host): after the fetch it names the commit ("commit SHA", empty for none), then waits for
// root's word on stdin. Only "checkout" checks out; end of input (root said no, or died) leaves the
// checkout as it was. The file then comes base64-encoded after its size, so a line-by-line reader
// gets its exact bytes and can tell a cut-short one; "file read" (no base64 has a space) ends it, so
// the deploy goes on while systemd tears the unit down (~0.1 s).
const THEN_CHECKOUT_AND_SHOW = `
file=$2 max=$3
shift 3
sha=
for c in "$@"; do sha=$(git rev-parse --verify --quiet "$c^{commit}") && break; sha=; done
echo "commit $sha"
[ -n "$sha" ] || exit 0
IFS= read -r word || exit 0
[ "$word" = checkout ] || exit 0
git checkout --quiet --force --detach "$sha" || exit 10
git clean -ffdxq || exit 10
line=$(git ls-tree -l "$sha" -- "$file")
[ -n "$line" ] || exit 2
set -- $line
case "$1 $2" in "100644 blob"|"100755 blob") ;; *) exit 3 ;; esac
size=$4
[ "$size" -le "$max" ] || exit 4
echo "size $size"
git cat-file blob "$3" | base64
echo "file read"`;

/** A fetch whose unit waits to check out the commit it found (fetchForCheckout). */
export interface Fetched {
  /** The commit the ref names; null when it names none (the unit has ended). */
  sha: string | null;
  /** The commit checked out, and `file` as it holds it; the unit ends with it. */
  checkout(): Promise<FileInCommit>;
  /** No checkout: the unit ends with the checkout as it was. Safe to call at any time, and again. */
  cancel(): Promise<void>;
}

/**
 * Clone if missing, else fetch every branch and tag (dir must already exist and belong to the app
 * user), and name the commit `ref` names: a branch of origin, a tag or a (possibly short) commit id.
 * Then, in the same unit, exactly that commit (detached, forced, every untracked or ignored file
 * removed) and `file` as it holds it: the checkout happens only when asked (after root's checks
 * between them), never if rf-agent stops or dies before.
 */
export async function fetchForCheckout(
  dir: string,
  repo: string,
  u: GitUser,
  ref: string,
  file: string,
): Promise<Fetched> {
  const clone = !(await hasCheckout(dir));
  const fail = (e: unknown) =>
    gitError(
      `${clone ? "clone" : "fetch"} ${repo}`,
      e,
      "check [app] repo and that the app user can reach it (network, credentials, deploy key)",
    );
  let say!: (word: string) => void;
  const word = new Promise<string>((resolve) => (say = resolve));
  let named!: (sha: string) => void;
  const commit = new Promise<string>((resolve) => (named = resolve));
  let fileRead!: () => void;
  const read = new Promise<null>((resolve) => (fileRead = () => resolve(null)));
  const lines: string[] = [];
  // A ref that looks like an option names nothing: git must not read it as one.
  const names = ref.startsWith("-") ? [] : candidates(ref);
  const args = [repo, path.posix.normalize(file), String(MAX_REQUIREMENTS_BYTES), ...names];
  const done = script(u, (clone ? CLONE : FETCH) + THEN_CHECKOUT_AND_SHOW, args, {
    ...gitOptions(u, [dir], dir, 300_000),
    reject: false,
    stdinUntil: word,
    onLine: (line) => {
      if (line.startsWith("commit ")) {
        lines.length = 0;
        named(line.slice("commit ".length).trim());
      } else if (line === "file read") fileRead();
      else lines.push(line);
    },
  });
  // A failure (or an unread commit line) before the commit is named is the fetch's.
  const first = await Promise.race([commit, done]).catch((e: unknown) => {
    throw fail(e);
  });
  if (typeof first !== "string") {
    say("");
    throw fail(new Error(first.stderr || `exited with status ${first.exitCode}`));
  }
  const sha = isSha(first) ? first : null;
  if (!sha) {
    say("");
    await done.catch(() => undefined);
    return NO_COMMIT;
  }
  const result = done.catch((e: unknown) => e);
  return {
    sha,
    async checkout() {
      say("checkout\n");
      const failed = (e: unknown) => {
        throw gitError(
          `checkout ${sha.slice(0, 12)}`,
          e,
          `the idle checkout ${dir} is damaged; remove it and deploy again`,
        );
      };
      // Read in full: the unit's end is the run's to await (cancel). Else its exit says why.
      if ((await Promise.race([read, done]).catch(failed)) === null) {
        const text = decoded(lines);
        if (text !== null) return { text };
      }
      return fileOrFailure(await done.catch(failed), sha, file, dir);
    },
    async cancel() {
      say("");
      await result;
    },
  };
}

const NO_COMMIT: Fetched = {
  sha: null,
  checkout: () => Promise.reject(new Error("no commit to check out")),
  cancel: () => Promise.resolve(),
};

/** The file from "size N" and its base64 lines; null when cut short. */
function decoded(lines: string[]): string | null {
  const size = /^size (\d+)$/.exec(lines[0] ?? "");
  const bytes = Buffer.from(lines.slice(1).join(""), "base64");
  if (!size || bytes.length !== Number(size[1])) return null;
  // Less one final newline, as execa reads a command's stdout: the venv's marker holds this text.
  return bytes.toString("utf8").replace(/\r?\n$/, "");
}

/**
 * The commit checked out in dir, read from .git/HEAD (our checkouts are always detached) without
 * following a link or blocking on a FIFO; otherwise git is asked, as the app user.
 */
export async function headSha(dir: string, u: GitUser | null): Promise<string | null> {
  const head = (await readBeneath(dir, ".git/HEAD", 4096))?.trim() ?? null;
  if (head === null) return null;
  if (isSha(head)) return head;
  if (!u) return null;
  const r = await u
    .run("git", ["rev-parse", "--verify", "--quiet", "HEAD"], {
      ...gitOptions(u, [], dir, 30_000),
      reject: false,
    })
    .catch(() => null);
  const sha = r?.stdout.trim() ?? "";
  return r?.exitCode === 0 && isSha(sha) ? sha : null;
}
