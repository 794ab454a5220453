// The app's "origin": a bare git repo inside a server, seeded from examples/app, that tests push versions to.
import path from "node:path";
import { REPO_ROOT, type ExecOptions, type TestServer } from "./server.js";

export const EXAMPLE_APP = path.join(REPO_ROOT, "examples", "app");

export interface Origin {
  bare: string;
  /** A clone pushVersion commits in. */
  work: string;
  branch: string;
}

export interface CreateOriginOptions {
  /** App directory (on the host and, through the bind mount, in the server) to seed from. */
  source?: string;
  bare?: string;
  work?: string;
  branch?: string;
}

export interface PushOptions {
  /** A FAULT file's content (e.g. "never-healthy"); null removes it; undefined leaves it as it is. */
  fault?: string | null;
  /** Files to write, by path relative to the app root. */
  files?: Record<string, string>;
  /** Defaults to origin.branch; created from the current commit if new. */
  branch?: string;
}

// Fixed so commits are the same whoever runs the tests.
const IDENTITY = {
  GIT_AUTHOR_NAME: "rf-agent tests",
  GIT_AUTHOR_EMAIL: "tests@rf-agent.invalid",
  GIT_COMMITTER_NAME: "rf-agent tests",
  GIT_COMMITTER_EMAIL: "tests@rf-agent.invalid",
};

/** Creates the bare repo and a work clone holding one commit of the example app; returns where they are. */
export async function createOrigin(server: TestServer, opts: CreateOriginOptions = {}): Promise<Origin> {
  const origin: Origin = {
    bare: opts.bare ?? "/srv/origin/app.git",
    work: opts.work ?? "/srv/origin/work",
    branch: opts.branch ?? "main",
  };
  const script = `set -euo pipefail
bare=$1 work=$2 branch=$3 source=$4
rm -rf -- "$bare" "$work"
mkdir -p -- "$(dirname -- "$bare")" "$(dirname -- "$work")"
# 0644 files whatever the umask of whoever pushes: the app's own user reads this repo.
git init -q --bare --shared=0644 -b "$branch" "$bare"
git init -q -b "$branch" "$work"
cp -a -- "$source/." "$work/"
cd "$work"
git remote add origin "$bare"
git add -A
git commit -q -m "app $(cat VERSION)"
git push -q origin "$branch"
# The app's user fetches from a repo root owns; since git 2.35.2 that is "dubious ownership" unless
# listed here. Only this path: the app's own checkouts must not be waved through the same way.
git config --system --get-all safe.directory | grep -qxF -- "$bare" || git config --system --add safe.directory "$bare"
chmod -R a+rX -- "$bare"`;
  await git(server, script, [origin.bare, origin.work, origin.branch, opts.source ?? EXAMPLE_APP]);
  return origin;
}

/** Commits a new VERSION (and FAULT, files) in the work clone, pushes it, and returns the commit's sha. */
export async function pushVersion(
  server: TestServer,
  origin: Origin,
  version: string,
  opts: PushOptions = {},
): Promise<string> {
  const branch = opts.branch ?? origin.branch;
  const checkout = `set -euo pipefail
cd "$1"
if git show-ref -q --verify "refs/heads/$2"; then git checkout -q "$2"; else git checkout -q -b "$2"; fi`;
  await git(server, checkout, [origin.work, branch]);
  const files: Record<string, string> = { ...opts.files, VERSION: `${version}\n` };
  if (typeof opts.fault === "string") files.FAULT = `${opts.fault}\n`;
  for (const [name, content] of Object.entries(files)) {
    if (path.isAbsolute(name) || path.normalize(name).startsWith(".."))
      throw new Error(`not inside the app: ${name}`);
    await server.writeFile(path.join(origin.work, name), content);
  }
  const script = `set -euo pipefail
cd "$1"
if [ "$3" = remove ]; then rm -f FAULT; fi
git add -A
git commit -q --allow-empty -m "version $4"
git push -q origin "$2"
chmod -R a+rX -- "$(git remote get-url origin)"
git rev-parse HEAD`;
  const removeFault = opts.fault === null ? "remove" : "keep";
  return sha(await git(server, script, [origin.work, branch, removeFault, version]));
}

/** The commit a branch of the origin points at (default: origin.branch). */
export async function headSha(server: TestServer, origin: Origin, branch = origin.branch): Promise<string> {
  return sha(await git(server, `git -C "$1" rev-parse "refs/heads/$2"`, [origin.bare, branch]));
}

async function git(
  server: TestServer,
  script: string,
  args: string[],
  opts: ExecOptions = {},
): Promise<string> {
  const r = await server.exec("bash", ["-c", script, "origin", ...args], {
    ...opts,
    env: IDENTITY,
    reject: true,
  });
  return r.stdout;
}

function sha(stdout: string): string {
  const last = stdout.trim().split("\n").at(-1) ?? "";
  if (!/^[0-9a-f]{40}$/.test(last)) throw new Error(`expected a commit sha from git, got: ${stdout}`);
  return last;
}
