// A failing command's error keeps what it said on stderr, however much it printed on stdout.
import { describe, expect, it } from "vitest";
import { createRunner } from "../../../src/exec/runner.js";
import { isRfError, type RfError } from "../../../src/errors.js";
import { captureLogger } from "../helpers/fakes.js";

const run = createRunner(captureLogger().log);

async function failure(p: Promise<unknown>): Promise<RfError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!isRfError(e)) throw new Error(`expected an RfError, got ${String(e)}`);
  return e;
}

describe("runner error details", () => {
  it("shows stderr's error even after long progress on stdout (pip)", async () => {
    const e = await failure(
      run("sh", [
        "-c",
        "for i in $(seq 1 40); do echo Requirement already satisfied: pkg$i; done; echo 'ERROR: [Errno 28] No space left on device' >&2; exit 1",
      ]),
    );
    const lines = e.details?.split("\n") ?? [];
    expect(lines[0]).toBe("ERROR: [Errno 28] No space left on device");
    expect(lines).toHaveLength(15);
    expect(lines.at(-1)).toBe("Requirement already satisfied: pkg40");
  });

  it("keeps stdout's end when stderr is empty", async () => {
    const e = await failure(run("sh", ["-c", "for i in $(seq 1 20); do echo line$i; done; exit 1"]));
    expect(e.details?.split("\n")).toEqual(Array.from({ length: 15 }, (_, i) => `line${i + 6}`));
  });
});
