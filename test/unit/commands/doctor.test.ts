import { execFile } from "node:child_process";
import { access, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { doctor, formatChecks, PYTHON_CHECK } from "../../../src/commands/doctor.js";
import { testConfig } from "../helpers/config.js";
import { dirsUnder, fakeContext, fakeRunner, tempDir } from "../helpers/fakes.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

describe("doctor", () => {
  it("runs the python check isolated (-I) from /, never from the directory it was started in", async () => {
    const run = fakeRunner();
    await doctor(fakeContext(testConfig(), { run, dirs: dirsUnder(dir) }));
    const python = run.calls.filter((c) => c.file === "/usr/bin/python3");
    expect(python).toHaveLength(1);
    expect(python[0]!.args).toEqual(["-I", "-c", "import venv, ensurepip"]);
    expect(python[0]!.options?.cwd).toBe("/");
  });

  it("with -I, a venv.py in the current directory does not run", async () => {
    const marker = path.join(dir, "ran-as-root");
    await writeFile(path.join(dir, "venv.py"), `open(${JSON.stringify(marker)}, "w").write("x")\n`);
    await writeFile(path.join(dir, "ensurepip.py"), `open(${JSON.stringify(marker)}, "w").write("x")\n`);
    // The worst case: the interpreter started in the attacker's directory, PYTHONPATH pointing there too.
    await promisify(execFile)("/usr/bin/python3", PYTHON_CHECK, {
      cwd: dir,
      env: { ...process.env, PYTHONPATH: dir },
    }).catch(() => undefined);
    await expect(access(marker)).rejects.toThrow();
    // Without -I the same command does run it: the check above can fail.
    await promisify(execFile)("/usr/bin/python3", PYTHON_CHECK.slice(1), { cwd: dir }).catch(() => undefined);
    await expect(access(marker)).resolves.toBeUndefined();
  });
});

describe("formatChecks", () => {
  it("strips escape sequences and line breaks others put in details", () => {
    const text = formatChecks([
      {
        title: "repository reachable",
        ok: false,
        detail: "fatal: \u001b]0;pwned\u0007no such repo\u001b[2J",
        fix: "push",
      },
    ]);
    expect(text).toBe("✗ repository reachable\n    fatal: no such repo\n    fix: push\n1 of 1 checks failed");
  });
});
