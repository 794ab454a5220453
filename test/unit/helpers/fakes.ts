// Small fakes injected where src/ takes a Runner, an HttpGet, a Logger or a Context.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { expect } from "vitest";
import type { Config } from "../../../src/config/types.js";
import { RfError } from "../../../src/errors.js";
import type { Context } from "../../../src/context.js";
import type { HttpAnswer, HttpGet } from "../../../src/adapters/health.js";
import { layoutFor, type HostDirs } from "../../../src/core/layout.js";
import { createRunner, type RunOptions, type RunResult, type Runner } from "../../../src/exec/runner.js";
import { createLogger, type Logger } from "../../../src/log.js";

export interface RunCall {
  file: string;
  args: string[];
  options: RunOptions | undefined;
}

export type FakeRunner = Runner & { calls: RunCall[] };

// The lock is the kernel's: flock runs for real (and is not among the calls), so two runs in one
// test contend as on a host.
const realRunner = createRunner(createLogger({ level: "silent" }));

/** A Runner that records every call and answers with `respond` (default: exit 0, no output). */
export function fakeRunner(
  respond: (
    file: string,
    args: string[],
    options?: RunOptions,
  ) => Partial<RunResult> | Promise<Partial<RunResult>> = () => ({}),
): FakeRunner {
  const calls: RunCall[] = [];
  const run = (async (file: string, args: string[], options?: RunOptions) => {
    if (file === "flock") return realRunner(file, args, options);
    calls.push({ file, args, options });
    const r = await respond(file, args, options);
    return { exitCode: r.exitCode ?? 0, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  }) as FakeRunner;
  run.calls = calls;
  return run;
}

export interface GetCall {
  url: string;
  opts: { host?: string; timeoutMs?: number } | undefined;
}

export type FakeGet = HttpGet & { calls: GetCall[] };

/** An HttpGet that records every call and answers with `respond`. */
export function fakeGet(respond: (url: string, call: number) => HttpAnswer): FakeGet {
  const calls: GetCall[] = [];
  const get = (async (url: string, opts?: { host?: string; timeoutMs?: number }) => {
    calls.push({ url, opts });
    return respond(url, calls.length - 1);
  }) as FakeGet;
  get.calls = calls;
  return get;
}

/** An HttpGet answering from a fixed list, then repeating its last answer. */
export function scriptedGet(answers: HttpAnswer[]): FakeGet {
  return fakeGet((_url, i) => answers[Math.min(i, answers.length - 1)] ?? { status: 0, body: "no script" });
}

export const ok = (body = "ok"): HttpAnswer => ({ status: 200, body });
export const status = (code: number, body = ""): HttpAnswer => ({ status: code, body });

/** A pino logger (the real createLogger) writing parsed records into an array. */
export function captureLogger(level = "debug"): { log: Logger; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const log = createLogger({
    level,
    stream: { write: (line: string) => void records.push(JSON.parse(line) as Record<string, unknown>) },
  });
  return { log, records };
}

/** A fresh directory under os.tmpdir(), and a function removing it. */
export async function tempDir(
  prefix = "rf-agent-unit-",
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Host directories all below `dir`, as layoutFor takes them. */
export function dirsUnder(dir: string): HostDirs {
  return {
    systemdDir: path.join(dir, "systemd"),
    nginxDir: path.join(dir, "nginx"),
    stateRoot: path.join(dir, "state"),
    runRoot: path.join(dir, "run"),
  };
}

/** A Context of fakes: nothing here touches systemd, nginx or the network. */
export function fakeContext(
  config: Config,
  parts: {
    run?: Runner;
    get?: HttpGet;
    log?: Logger;
    dirs?: HostDirs;
    sleep?: (ms: number) => Promise<void>;
  } = {},
): Context {
  return {
    config,
    layout: layoutFor(config, parts.dirs),
    run: parts.run ?? fakeRunner(),
    get: parts.get ?? fakeGet(() => ({ status: 200, body: "" })),
    log: parts.log ?? captureLogger().log,
    user: null,
    now: () => new Date(),
    sleep: parts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
  };
}

/** The RfError a promise fails with; the test fails if it resolves or fails with something else. */
export async function failureOf(p: Promise<unknown>): Promise<RfError> {
  const e = await p.then(
    () => new Error("resolved, but should have failed"),
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(RfError);
  return e as RfError;
}
