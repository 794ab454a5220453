// A pretend host that can take a whole deploy: the host model of helpers/host.ts (nginx, systemd,
// health) plus the app user, a git remote and a Python that answer as the real ones do, and a
// fault to inject at any step. It lives under /run (root's, 0755): ensureRoot refuses a ROOT below
// a directory others can write, such as /tmp.
import { mkdirSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import path from "node:path";
import type { Config } from "../../../src/config/types.js";
import { RfError } from "../../../src/errors.js";
import type { RunOptions, RunResult } from "../../../src/exec/runner.js";
import { fakeHost, type HostModel } from "./host.js";

export type Fault = "fetch" | "checkout" | "pip" | "ports" | "start" | "hook" | "nginx -t";

export interface Remote {
  /** What the branch `main` points at. */
  tip: string;
  /** requirements.txt of each commit (default "fastapi\n"). */
  requirements: Record<string, string>;
}

export const isRoot = process.getuid?.() === 0;

export async function releaseHostDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp("/run/rf-agent-unit-release-");
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

const USER = "demo:x:4321:4321::/srv/demo:/usr/sbin/nologin";

export async function releaseHost(
  dir: string,
  host: HostModel,
  remote: Remote,
  opts: { faults?: Set<Fault>; patch?: (c: Config) => void; sleep?: (ms: number) => Promise<void> } = {},
) {
  const faults = opts.faults ?? new Set<Fault>();
  const fail = (stderr: string): Partial<RunResult> => ({ exitCode: 1, stderr });
  // As the runner does: a failed command throws, unless the caller asked with reject: false.
  const respond = (
    file: string,
    args: string[],
    options?: RunOptions,
  ): Partial<RunResult> | Promise<Partial<RunResult>> | undefined => {
    const check = (r: Partial<RunResult>) => {
      if (r.exitCode && options?.reject !== false) {
        throw new RfError(options?.code ?? "COMMAND", `\`${file}\` exited with status ${r.exitCode}`, {
          details: r.stderr,
        });
      }
      return r;
    };
    const r = answer(file, args, options);
    return r instanceof Promise ? r.then(check) : r && check(r);
  };
  const answer = (
    file: string,
    args: string[],
    options?: RunOptions,
  ): Partial<RunResult> | Promise<Partial<RunResult>> | undefined => {
    if (file === "getent") return { stdout: `${USER}\n` };
    if (file === "id") return { stdout: "demo\n" };
    if (file === "git" && args[0] === "ls-remote") return { stdout: `${remote.tip}\trefs/heads/main\n` };
    if (file === "ss" && faults.has("ports") && args[0] === "-Htlnp") {
      // a stray process (this test's own) listens on every port asked about
      return { stdout: `LISTEN 0 128 127.0.0.1:8001 0.0.0.0:* users:(("stray",pid=${process.pid},fd=3))\n` };
    }
    if (file === "ss") return {};
    if (file === "/bin/sh" && args[2] === "rf-agent-git" && args[1]?.includes("read -r word"))
      return fetchThenCheckout(args.slice(3), options ?? {});
    if (file === "/bin/sh" && args[2] === "rf-agent-git")
      return fail(`unexpected git script: ${(args[1] ?? "").split("\n")[0]}`);
    if (file.endsWith("python3") && args.includes("venv")) {
      mkdirSync(args.at(-1)!, { recursive: true });
      writeFileSync(path.join(args.at(-1)!, "pyvenv.cfg"), "home = /usr/bin\n");
      return {};
    }
    if (file.endsWith("/bin/pip")) return faults.has("pip") ? fail("ERROR: No matching distribution") : {};
    if (file.endsWith("python3")) return { stdout: "3.11.2 /usr/bin/python3.11\n" };
    if (file === "nginx" && args[0] === "-t" && faults.has("nginx -t")) {
      return fail("nginx: [emerg] unknown directive in /etc/nginx/conf.d/other.conf");
    }
    if (file === "systemctl" && faults.has("start") && ["restart", "start"].includes(args[0] ?? "")) {
      return fail("Job for demo-api@green.service failed");
    }
    if (file === "/bin/sh" && args[0] === "-c" && args[1]?.includes("migrate")) {
      return faults.has("hook") ? fail("migration failed") : {};
    }
    return undefined;
  };
  // The fetch's unit (src/adapters/git.ts fetchForCheckout): names the commit, then checks it out
  // only on root's word, and hands the requirements over base64-encoded after their size.
  const fetchThenCheckout = async (args: string[], options: RunOptions): Promise<Partial<RunResult>> => {
    const cwd = options.cwd ?? "/";
    if (faults.has("fetch")) return fail("fatal: could not read from remote repository");
    mkdirSync(path.join(cwd, ".git"), { recursive: true });
    writeFileSync(path.join(cwd, ".git", "config"), "[core]\n");
    writeFileSync(path.join(cwd, ".git", "HEAD"), "ref: refs/heads/main\n", { flag: "a" });
    const sha = args[3]?.endsWith("/main") ? remote.tip : "";
    options.onLine?.(`commit ${sha}`);
    if (!sha) return {};
    const word = await Promise.resolve(options.stdinUntil).catch(() => undefined);
    if (word !== "checkout\n") return {};
    if (faults.has("checkout")) return { exitCode: 10, stderr: "error: unable to unlink old 'app.py'" };
    writeFileSync(path.join(cwd, ".git", "HEAD"), `${sha}\n`);
    const text = Buffer.from(remote.requirements[sha] ?? "fastapi\n");
    options.onLine?.(`size ${text.length}`);
    for (const line of text.toString("base64").match(/.{1,76}/g) ?? []) options.onLine?.(line);
    options.onLine?.("file read");
    return {};
  };
  for (const d of ["srv", "data"]) mkdirSync(path.join(dir, d), { mode: 0o755 });
  const h = await fakeHost(dir, host, {
    respond,
    ...(opts.sleep ? { sleep: opts.sleep } : {}),
    patch: (c) => {
      c.app.dataDir = path.join(dir, "data", c.app.name);
      c.app.branch = "main";
      opts.patch?.(c);
    },
  });
  return h;
}
