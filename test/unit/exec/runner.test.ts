// The real createRunner, running harmless commands (sh, cat, sleep).
import { describe, expect, it } from "vitest";
import { createRunner, tail } from "../../../src/exec/runner.js";
import { captureLogger, failureOf, tempDir } from "../helpers/fakes.js";

const { log, records } = captureLogger("debug");
const run = createRunner(log);

const failure = failureOf;

describe("createRunner", () => {
  it("returns stdout and stderr without the final newline", async () => {
    const r = await run("sh", ["-c", "echo out; echo err >&2"]);
    expect(r).toEqual({ exitCode: 0, stdout: "out", stderr: "err" });
  });

  it("logs each command at debug level", async () => {
    await run("sh", ["-c", "true"]);
    expect(records.at(-1)).toMatchObject({ level: 20, msg: "run", cmd: "sh -c true" });
  });

  it("turns a failing command into an RfError with code, hint, status and output tail", async () => {
    const e = await failure(
      run("sh", ["-c", "echo building; echo 'ERROR: no matching distribution' >&2; exit 3"], {
        code: "PIP",
        hint: "fix requirements.txt",
      }),
    );
    expect(e.code).toBe("PIP");
    expect(e.hint).toBe("fix requirements.txt");
    expect(e.exitCode).toBe(1);
    expect(e.message).toBe(
      "`sh -c echo building; echo 'ERROR: no matching distribution' >&2; exit 3` exited with status 3",
    );
    expect(e.details).toBe("ERROR: no matching distribution\nbuilding");
  });

  it("keeps only the last 15 lines of output in the details", async () => {
    const e = await failure(run("sh", ["-c", "for i in $(seq 1 40); do echo line$i >&2; done; exit 1"]));
    expect(e.code).toBe("COMMAND");
    expect(e.details?.split("\n")).toEqual(Array.from({ length: 15 }, (_, i) => `line${i + 26}`));
  });

  it("has no details when the command printed nothing", async () => {
    const e = await failure(run("sh", ["-c", "exit 2"]));
    expect(e.details).toBeUndefined();
    expect(e.message).toContain("exited with status 2");
  });

  it('says "command not found" for a program that does not exist', async () => {
    const e = await failure(run("/nonexistent/rf-agent-no-such-program", ["--x"], { hint: "install it" }));
    expect(e.message).toBe("`/nonexistent/rf-agent-no-such-program --x` command not found");
    expect(e.code).toBe("COMMAND");
    expect(e.hint).toBe("install it");
  });

  it("with reject: false resolves with the exit code instead", async () => {
    const r = await run("sh", ["-c", "echo partial; exit 7"], { reject: false });
    expect(r).toEqual({ exitCode: 7, stdout: "partial", stderr: "" });
  });

  it("says how long it waited when a command times out", async () => {
    const started = Date.now();
    const e = await failure(run("sleep", ["10"], { timeoutMs: 200, code: "SYSTEMD" }));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(e.code).toBe("SYSTEMD");
    expect(e.message).toBe("`sleep 10` timed out after 0 s");
  });

  it("passes input, env and cwd", async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const r = await run("sh", ["-c", 'cat; echo " $RF_TEST_VAR $(pwd)"'], {
        input: "from stdin",
        env: { RF_TEST_VAR: "set" },
        cwd: dir,
      });
      expect(r.stdout).toBe(`from stdin set ${dir}`);
    } finally {
      await cleanup();
    }
  });

  it("keeps the parent's environment unless running as another user", async () => {
    process.env.RF_TEST_INHERITED = "yes";
    try {
      expect((await run("sh", ["-c", "echo $RF_TEST_INHERITED"])).stdout).toBe("yes");
    } finally {
      delete process.env.RF_TEST_INHERITED;
    }
  });
});

describe("tail", () => {
  const lines = Array.from({ length: 20 }, (_, i) => `l${i + 1}`).join("\n") + "\n\n";

  it("keeps the last lines, ignoring trailing blank ones", () => {
    expect(tail(lines, 3)).toBe("l18\nl19\nl20");
    expect(tail(lines).split("\n")).toHaveLength(15);
    expect(tail("one")).toBe("one");
  });
});
