// Release hooks: how they are run (sandbox, env, time limit) and what their outcome becomes.
import { describe, expect, it } from "vitest";
import type { Config } from "../../../src/config/types.js";
import type { RunOptions, RunResult, Runner } from "../../../src/exec/runner.js";
import { hookRun, runHook } from "../../../src/ops/release-hooks.js";
import { testConfig } from "../helpers/config.js";
import { captureLogger, failureOf, fakeContext } from "../helpers/fakes.js";

const USER = { name: "demo", group: "demo", uid: 998, gid: 997, home: "/srv/demo" };

interface Call {
  file: string;
  args: string[];
  options?: RunOptions;
}

/** A runner answering every command with `result`, recording the calls. */
function answering(result: Partial<RunResult>): Runner & { calls: Call[] } {
  const calls: Call[] = [];
  const run = (async (file: string, args: string[], options?: RunOptions) => {
    calls.push({ file, args, options });
    return { exitCode: 0, stdout: "", stderr: "", ...result };
  }) as Runner & { calls: Call[] };
  run.calls = calls;
  return run;
}

function ctxWith(run: Runner, patch?: (c: Config) => void) {
  const config = testConfig((c) => {
    c.hooks = { preSwitch: "python migrate.py", postSwitch: "", postRollback: "./smoke", timeoutSec: 4.5 };
    patch?.(c);
  });
  const captured = captureLogger("info");
  const ctx = { ...fakeContext(config, { run, log: captured.log }), user: USER };
  return { ctx, records: captured.records };
}

const failure = failureOf;

describe("hookRun", () => {
  it("sh -c in the color's checkout, as the app user, in a sandbox writing only the data dir", () => {
    const { ctx } = ctxWith(answering({}), (c) => {
      c.app.envFile = "/etc/rf-agent/demo.env";
      c.app.colorEnvFiles.green = "/etc/rf-agent/demo-green.env";
    });
    expect(hookRun(ctx, "pre_switch", "green", "abc123")).toEqual({
      file: "/bin/sh",
      args: ["-c", "python migrate.py"],
      options: {
        as: USER,
        sandbox: {
          unit: "rf-agent-demo-hook",
          writable: ["/var/lib/demo"],
          envFiles: ["/etc/rf-agent/demo.env", "/etc/rf-agent/demo-green.env"],
        },
        cwd: "/srv/demo/green",
        env: {
          PATH: "/srv/demo/venvs/green/bin:/usr/local/bin:/usr/bin:/bin",
          HOME: "/var/lib/demo",
          VIRTUAL_ENV: "/srv/demo/venvs/green",
          RF_APP: "demo",
          RF_COLOR: "green",
          RF_SHA: "abc123",
          RF_HOOK: "pre_switch",
          RF_DATA_DIR: "/var/lib/demo",
        },
        timeoutMs: 4500,
        reject: false,
      },
    });
  });

  it("nothing to run without a command or before the app user exists", () => {
    const { ctx } = ctxWith(answering({}));
    expect(hookRun(ctx, "post_switch", "blue", "abc")).toBeNull();
    expect(hookRun({ ...ctx, user: null }, "pre_switch", "blue", "abc")).toBeNull();
  });
});

describe("runHook", () => {
  it("runs it sandboxed and logs each line of its output", async () => {
    const run = answering({ stdout: "migrate: applying 001\n\nmigrate: done", stderr: "warning: x" });
    const { ctx, records } = ctxWith(run);
    expect(await runHook(ctx, "pre_switch", "blue", "abc")).toBe(true);
    expect(run.calls).toHaveLength(1);
    expect(run.calls[0]?.options?.sandbox?.unit).toBe("rf-agent-demo-hook");
    expect(records.filter((r) => r.hook === "pre_switch").map((r) => r.msg)).toEqual([
      "pre_switch: migrate: applying 001",
      "pre_switch: migrate: done",
      "pre_switch: warning: x",
    ]);
  });

  it("a failing hook is a HOOK error with its status and the end of its output", async () => {
    const { ctx } = ctxWith(answering({ exitCode: 3, stderr: "no such table" }));
    const e = await failure(runHook(ctx, "pre_switch", "blue", "abc"));
    expect(e.code).toBe("HOOK");
    expect(e.exitCode).toBe(1);
    expect(e.message).toBe("the pre_switch hook `python migrate.py` exited with status 3");
    expect(e.hint).toMatch(/^nothing was switched/);
    expect(e.details).toBe("no such table");
  });

  it("a hook stopped at its time limit says so, in whole seconds", async () => {
    const { ctx } = ctxWith(answering({ exitCode: 1, timedOut: true, stdout: "waiting" }));
    const e = await failure(runHook(ctx, "post_rollback", "green", "abc"));
    expect(e.message).toBe(
      "the post_rollback hook `./smoke` timed out after 5 s (everything it started was stopped)",
    );
    expect(e.hint).toMatch(/^the switch itself stands/);
    expect(e.details).toBe("waiting");
  });

  it("a sandbox systemd could not set up is named as such", async () => {
    const { ctx } = ctxWith(answering({ exitCode: 226 }));
    const e = await failure(runHook(ctx, "pre_switch", "blue", "abc"));
    expect(e.message).toMatch(/exited with status 226 \(NAMESPACE: /);
  });

  it("does nothing when no hook is configured", async () => {
    const run = answering({});
    const { ctx } = ctxWith(run);
    expect(await runHook(ctx, "post_switch", "blue", "abc")).toBe(false);
    expect(run.calls).toHaveLength(0);
  });
});
