import { chmod, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RfError } from "../../../src/errors.js";
import { readSecret } from "../../../src/webhook/secret.js";
import { tempDir } from "../helpers/fakes.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

const SECRET = "f".repeat(64);

async function secretFile(content: string, mode: number): Promise<string> {
  const file = path.join(dir, "webhook.secret");
  await writeFile(file, content);
  await chmod(file, mode);
  return file;
}

describe("readSecret", () => {
  it("reads a 0600 file, without its trailing newline", async () => {
    const file = await secretFile(`${SECRET}\n`, 0o600);
    expect((await readSecret(file, {})).toString()).toBe(SECRET);
  });

  it.each([0o640, 0o604, 0o644])("refuses mode %s with the chmod to run", async (mode) => {
    const file = await secretFile(SECRET, mode);
    const e = (await readSecret(file, {}).catch((x: unknown) => x)) as RfError;
    expect(e).toBeInstanceOf(RfError);
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe(
      `webhook secret file ${file} is readable by group or others (mode 0${mode.toString(8)})`,
    );
    expect(e.hint).toBe(`chmod 600 ${file}`);
    expect(e.message + e.hint).not.toContain(SECRET);
  });

  it("says how to create a missing file", async () => {
    const e = (await readSecret(path.join(dir, "none"), {}).catch((x: unknown) => x)) as RfError;
    expect(e.message).toContain("does not exist");
    expect(e.hint).toContain("rf-agent install");
  });

  it("refuses an empty or short secret", async () => {
    const e = (await readSecret(await secretFile("short\n", 0o600), {}).catch((x: unknown) => x)) as RfError;
    expect(e.message).toContain("too short");
  });

  it("prefers systemd's credential copy, whose mode systemd owns", async () => {
    await writeFile(path.join(dir, "secret"), `${SECRET}\n`);
    await chmod(path.join(dir, "secret"), 0o444);
    expect((await readSecret("/nonexistent/secret", { CREDENTIALS_DIRECTORY: dir })).toString()).toBe(SECRET);
  });
});
