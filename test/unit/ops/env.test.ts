import { execFileSync } from "node:child_process";
import { chmod, mkdir, symlink, truncate, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isRfError, type RfError } from "../../../src/errors.js";
import { redactSecrets } from "../../../src/log.js";
import {
  dirProblem,
  fileProblem,
  loadAppEnv,
  MAX_ENV_FILE_BYTES,
  readEnvFile,
  scrubAppEnv,
} from "../../../src/ops/env.js";
import { testConfig } from "../helpers/config.js";
import { fakeContext, tempDir } from "../helpers/fakes.js";

// The files here belong to whoever runs the tests; rf-agent itself passes uid 0.
const me = process.getuid!();
let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  await chmod(dir, 0o700);
});
afterEach(() => cleanup());

async function privateFile(name: string, text: string, mode = 0o600): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, text);
  await chmod(file, mode);
  return file;
}

async function refusal(p: Promise<unknown>): Promise<RfError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  if (!isRfError(e)) throw new Error(`expected an RfError, got ${String(e)}`);
  expect(e.code).toBe("ENV");
  expect(e.exitCode).toBe(2);
  return e;
}

describe("readEnvFile", () => {
  it("reads a private regular file", async () => {
    const file = await privateFile("app.env", "A=1\n");
    expect(await readEnvFile(file, me)).toBe("A=1\n");
  });

  it("accepts a group-readable file (root:appgroup 0640)", async () => {
    const file = await privateFile("app.env", "A=1\n", 0o640);
    expect(await readEnvFile(file, me)).toBe("A=1\n");
  });

  it("says how to create a missing file", async () => {
    const e = await refusal(readEnvFile(path.join(dir, "missing.env"), me));
    expect(e.message).toContain("does not exist");
    expect(e.hint).toContain("install -m 600 /dev/null");
  });

  it("refuses a symlink, even to a private file", async () => {
    const real = await privateFile("real.env", "SECRET=x\n");
    const link = path.join(dir, "app.env");
    await symlink(real, link);
    const e = await refusal(readEnvFile(link, me));
    expect(e.message).toContain("is a symbolic link");
    expect(e.hint).toContain(`chown root: ${link} && chmod 600 ${link}`);
  });

  it("refuses a FIFO without blocking on it", async () => {
    const fifo = path.join(dir, "app.env");
    execFileSync("mkfifo", ["-m", "600", fifo]);
    const e = await refusal(readEnvFile(fifo, me));
    expect(e.message).toContain("is not a regular file");
  });

  it("refuses a directory", async () => {
    const sub = path.join(dir, "app.env");
    await mkdir(sub, { mode: 0o700 });
    expect((await refusal(readEnvFile(sub, me))).message).toContain("is not a regular file");
  });

  it("refuses a file owned by another user", async () => {
    const file = await privateFile("app.env", "A=1\n");
    const e = await refusal(readEnvFile(file, me + 1));
    expect(e.message).toBe(
      `env file ${file} is owned by uid ${me}, not root: that user could change the app's environment`,
    );
    expect(e.hint).toBe(`chown root: ${file} && chmod 600 ${file}`);
  });

  it.each([
    [0o620, "is writable by its group"],
    [0o606, "is writable by every user"],
    [0o604, "is readable by every user on this host"],
  ])("refuses mode %o: %s", async (mode, message) => {
    const file = await privateFile("app.env", "A=1\n", mode);
    const e = await refusal(readEnvFile(file, me));
    expect(e.message).toBe(`env file ${file} ${message}`);
    expect(e.hint).toContain(`chown root: ${file} && chmod 600 ${file}`);
  });

  it("refuses a file larger than the cap", async () => {
    const file = await privateFile("app.env", "");
    await truncate(file, MAX_ENV_FILE_BYTES + 1);
    expect((await refusal(readEnvFile(file, me))).message).toContain(`more than ${MAX_ENV_FILE_BYTES}`);
  });

  it("refuses a file in a directory other users can write to", async () => {
    const open = path.join(dir, "open");
    await mkdir(open);
    await chmod(open, 0o777);
    const file = path.join(open, "app.env");
    await writeFile(file, "A=1\n", { mode: 0o600 });
    const e = await refusal(readEnvFile(file, me));
    expect(e.message).toBe(
      `env file ${file} is in ${open}, which other users can write to: they could swap it for another file`,
    );
    expect(e.hint).toContain(`chown root: ${open} && chmod go-w ${open}`);
  });

  it("follows a symlinked directory only into a safe one", async () => {
    const safe = path.join(dir, "safe");
    await mkdir(safe, { mode: 0o700 });
    await writeFile(path.join(safe, "app.env"), "A=1\n", { mode: 0o600 });
    await symlink(safe, path.join(dir, "via"));
    expect(await readEnvFile(path.join(dir, "via", "app.env"), me)).toBe("A=1\n");

    await chmod(safe, 0o777);
    const e = await refusal(readEnvFile(path.join(dir, "via", "app.env"), me));
    expect(e.message).toContain(`is in ${safe}, which other users can write to`);
  });
});

describe("dirProblem", () => {
  it.each([
    [{ uid: 0, mode: 0o40755 }, null],
    [{ uid: 0, mode: 0o41777 }, null],
    [{ uid: 42, mode: 0o40700 }, null],
    [{ uid: 1000, mode: 0o40755 }, "/d, which uid 1000 owns"],
    [{ uid: 0, mode: 0o40775 }, "/d, which other users can write to"],
    [{ uid: 0, mode: 0o40757 }, "/d, which other users can write to"],
  ])("%o -> %s", (st, problem) => {
    expect(dirProblem("/d", st, 42, 0)).toBe(problem);
  });
});

describe("fileProblem", () => {
  it("passes root's 0600 and 0640 files and stops at the first problem otherwise", () => {
    expect(fileProblem("/f", { uid: 0, mode: 0o100600, size: 10 }, 0)).toBeNull();
    expect(fileProblem("/f", { uid: 0, mode: 0o100640, size: 10 }, 0)).toBeNull();
    expect(fileProblem("/f", { uid: 1000, mode: 0o100666, size: 10 }, 0)?.[0]).toContain("owned by uid 1000");
    expect(fileProblem("/f", { uid: 0, mode: 0o100600, size: MAX_ENV_FILE_BYTES + 1 }, 0)?.[0]).toContain(
      "more than",
    );
  });
});

describe("loadAppEnv and scrubAppEnv", () => {
  it("registers every value for scrubbing except short, numeric and boolean ones", async () => {
    const file = await privateFile(
      "app.env",
      [
        "DATABASE_URL=postgres://app:planted-db-pass@db/app",
        "APP_MODE=production-eu",
        "PORT_BASE=8000000",
        "FEATURE=enabled",
        "SHORT=abcde",
        "API_KEY=k3y4",
        "",
      ].join("\n"),
    );
    const ctx = fakeContext(testConfig((c) => (c.app.envFile = file)));
    const env = await loadAppEnv(ctx, "blue", me);
    expect(env.DATABASE_URL).toBe("postgres://app:planted-db-pass@db/app");
    const line = `db=${env.DATABASE_URL} mode=production-eu n=8000000 f=enabled s=abcde key=k3y4`;
    expect(redactSecrets(line)).toBe(
      "db=[redacted] mode=[redacted] n=8000000 f=enabled s=abcde key=[redacted]",
    );
  });

  it("scrubAppEnv registers the shared file's values even where a color file overrides them, and skips a bad file", async () => {
    const shared = await privateFile("shared.env", "TOKEN_A=shared-planted-value\n");
    const blue = await privateFile("blue.env", "TOKEN_A=blue-planted-value\n");
    const bad = await privateFile("green.env", "TOKEN_B=never-read-value\n", 0o644);
    const ctx = fakeContext(
      testConfig((c) => {
        c.app.envFile = shared;
        c.app.colorEnvFiles = { blue, green: bad };
      }),
    );
    await scrubAppEnv(ctx, me);
    expect(redactSecrets("shared-planted-value blue-planted-value never-read-value")).toBe(
      "[redacted] [redacted] never-read-value",
    );
  });
});
