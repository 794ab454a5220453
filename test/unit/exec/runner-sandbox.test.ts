// The runner's sandbox path against small fake systemd-run and systemctl programs: what the real
// systemd-run does with the argv (dollars, --setenv, the working directory, RuntimeMaxSec= ending
// in status 1) is done here by a few lines of node, so these tests need no systemd.
import { chmod, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createRunner, type RunOptions, type Runner } from "../../../src/exec/runner.js";
import { captureLogger, failureOf, tempDir } from "../helpers/fakes.js";

const FAKE_SYSTEMD_RUN = `#!${process.execPath}
const fs = require("node:fs"), path = require("node:path"), { spawn } = require("node:child_process");
const dir = path.dirname(process.argv[1]);
const argv = process.argv.slice(2);
fs.writeFileSync(path.join(dir, "argv.json"), JSON.stringify(argv));
if (fs.existsSync(path.join(dir, "hang"))) {
  setInterval(() => {}, 1000);
} else {
  const value = (prefix) => argv.find((a) => a.startsWith(prefix))?.slice(prefix.length);
  const env = Object.fromEntries(
    argv.filter((a) => a.startsWith("--setenv=")).map((a) => {
      const kv = a.slice("--setenv=".length), i = kv.indexOf("=");
      return [kv.slice(0, i), kv.slice(i + 1)];
    }),
  );
  const [file, ...args] = argv.slice(argv.indexOf("--") + 1).map((a) => a.replaceAll("$$", "$"));
  // Its own process group stands in for the unit's cgroup: all of it goes at the limit or at the end.
  const child = spawn(file, args, { stdio: "inherit", env, cwd: value("--working-directory="), detached: true });
  const killAll = () => { try { process.kill(-child.pid, "SIGKILL"); } catch {} };
  const limit = value("RuntimeMaxSec=");
  let stopped = false;
  if (limit) setTimeout(() => { stopped = true; killAll(); }, Number(limit) * 1000);
  child.on("exit", (code) => { killAll(); process.exit(stopped ? 1 : (code ?? 2)); });
}
`;

const FAKE_SYSTEMCTL = `#!/bin/sh
printf '%s\\n' "$@" >"$(dirname "$0")/systemctl.args"
`;

const AS = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, home: "/nonexistent-home" };
const SANDBOX = { unit: "rf-agent-test-hook", writable: ["/var/lib/test"], envFiles: ["/etc/test.env"] };

let dir: string;
let cleanup: () => Promise<void>;
let run: Runner;
let records: Record<string, unknown>[];

function sandboxed(extra: RunOptions = {}): RunOptions {
  return { as: AS, sandbox: SANDBOX, ...extra };
}

async function argvSeen(): Promise<string[]> {
  return JSON.parse(await readFile(path.join(dir, "argv.json"), "utf8")) as string[];
}

const failure = failureOf;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  await writeFile(path.join(dir, "systemd-run"), FAKE_SYSTEMD_RUN);
  await writeFile(path.join(dir, "systemctl"), FAKE_SYSTEMCTL);
  await chmod(path.join(dir, "systemd-run"), 0o755);
  await chmod(path.join(dir, "systemctl"), 0o755);
  await writeFile(path.join(dir, "cgroup"), "0::/system.slice/rf-agent-test-deploy@webhook.service\n");
  const captured = captureLogger("debug");
  records = captured.records;
  run = createRunner(captured.log, {
    systemdRun: path.join(dir, "systemd-run"),
    systemctl: path.join(dir, "systemctl"),
    backstopMs: 100,
    cgroupFile: path.join(dir, "cgroup"),
  });
});

beforeEach(async () => {
  await rm(path.join(dir, "hang"), { force: true });
  await rm(path.join(dir, "systemctl.args"), { force: true });
});

afterAll(async () => {
  await cleanup();
});

describe("createRunner with a sandbox", () => {
  it("runs the command through systemd-run with its input, env and working directory", async () => {
    const r = await run(
      "/bin/sh",
      ["-c", 'printf "%s %s %s " "$RF_X" "$HOME" "$(pwd)"; cat; echo oops >&2'],
      sandboxed({ input: "from stdin", env: { RF_X: "x$y" }, cwd: dir, timeoutMs: 30_000 }),
    );
    expect(r).toEqual({ exitCode: 0, stdout: `x$y /nonexistent-home ${dir} from stdin`, stderr: "oops" });
    const argv = await argvSeen();
    expect(argv.slice(0, 8)).toEqual([
      "--wait",
      "--pipe",
      "--collect",
      "--quiet",
      expect.stringMatching(/^--unit=rf-agent-test-hook-[0-9a-f]{16}$/),
      `--uid=${AS.uid}`,
      `--gid=${AS.gid}`,
      `--working-directory=${dir}`,
    ]);
    expect(argv).toEqual(
      expect.arrayContaining([
        "ReadWritePaths=/var/lib/test",
        "EnvironmentFile=/etc/test.env",
        "RuntimeMaxSec=30",
        "BindsTo=rf-agent-test-deploy@webhook.service",
        "--setenv=HOME=/nonexistent-home",
        "--setenv=LANG=C.UTF-8",
        "--setenv=RF_X=x$y",
      ]),
    );
    expect(argv.filter((a) => a.startsWith("--setenv=PATH="))).toHaveLength(1);
  });

  it("logs the command and its unit at debug, not systemd-run's argv with the variables", async () => {
    await run("/bin/true", [], sandboxed({ env: { RF_TOKENISH: "visible-only-on-the-command-line" } }));
    const last = records.at(-1);
    expect(last).toMatchObject({ level: 20, msg: "run", cmd: "/bin/true", as: AS.uid });
    expect(last?.unit).toMatch(/^rf-agent-test-hook-[0-9a-f]{16}$/);
    expect(JSON.stringify(last)).not.toContain("visible-only-on-the-command-line");
  });

  it("passes the command's stdout lines to onLine", async () => {
    const lines: string[] = [];
    const r = await run("/bin/sh", ["-c", "echo one; echo two"], sandboxed({ onLine: (l) => lines.push(l) }));
    expect(lines).toEqual(["one", "two"]);
    expect(r.stdout).toBe("");
  });

  it("a failing command: the same RfError as without a sandbox, naming the command, not systemd-run", async () => {
    const e = await failure(
      run("/bin/sh", ["-c", "echo why >&2; exit 3"], sandboxed({ code: "HOOK", hint: "fix it" })),
    );
    expect(e.message).toBe("`/bin/sh -c echo why >&2; exit 3` exited with status 3");
    expect(e.code).toBe("HOOK");
    expect(e.hint).toBe("fix it");
    expect(e.details).toBe("why");
  });

  it("says when systemd itself could not set the unit up", async () => {
    const e = await failure(run("/bin/sh", ["-c", "exit 226"], sandboxed()));
    expect(e.message).toMatch(/exited with status 226 \(NAMESPACE: systemd could not set up the sandbox/);
  });

  it("a command stopped at RuntimeMaxSec= (status 1 from systemd-run) timed out", async () => {
    const e = await failure(run("/bin/sh", ["-c", "echo started; sleep 20"], sandboxed({ timeoutMs: 600 })));
    expect(e.message).toBe("`/bin/sh -c echo started; sleep 20` timed out after 1 s");
    expect(e.details).toBe("started");
    const r = await run("/bin/sh", ["-c", "sleep 20"], sandboxed({ timeoutMs: 600, reject: false }));
    expect(r).toMatchObject({ exitCode: 1, timedOut: true });
  });

  it("a quick failure with a time limit is not a timeout", async () => {
    const r = await run("/bin/sh", ["-c", "exit 1"], sandboxed({ timeoutMs: 10_000, reject: false }));
    expect(r).toEqual({ exitCode: 1, stdout: "", stderr: "" });
  });

  it("when systemd-run itself hangs past the limit, the backstop kills it and stops the unit", async () => {
    await writeFile(path.join(dir, "hang"), "");
    const e = await failure(run("/bin/sh", ["-c", "true"], sandboxed({ timeoutMs: 1000, code: "HOOK" })));
    expect(e.message).toBe("`/bin/sh -c true` timed out after 1 s");
    expect(e.code).toBe("HOOK");
    const unit = (await argvSeen()).find((a) => a.startsWith("--unit="))?.slice("--unit=".length);
    expect(unit).toMatch(/^rf-agent-test-hook-/);
    expect((await readFile(path.join(dir, "systemctl.args"), "utf8")).split("\n")).toEqual([
      "stop",
      "--",
      `${unit}.service`,
      "",
    ]);
  }, 15_000);

  it("without systemd-run: a clear error, and the unit stopped in case it started", async () => {
    const none = createRunner(captureLogger().log, {
      systemdRun: path.join(dir, "no-such-systemd-run"),
      systemctl: path.join(dir, "systemctl"),
      backstopMs: 100,
      cgroupFile: path.join(dir, "no-such-cgroup"),
    });
    const e = await failure(none("/bin/true", [], sandboxed()));
    expect(e.message).toMatch(/could not start: systemd-run is missing/);
    expect(existsSync(path.join(dir, "systemctl.args"))).toBe(true);
  });

  it("without `as` the sandbox is ignored: a plain child, as before", async () => {
    await rm(path.join(dir, "argv.json"), { force: true });
    const r = await run("/bin/sh", ["-c", "echo plain"], { sandbox: SANDBOX });
    expect(r.stdout).toBe("plain");
    expect(existsSync(path.join(dir, "argv.json"))).toBe(false);
  });
});
