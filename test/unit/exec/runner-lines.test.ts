import { describe, expect, it } from "vitest";
import { createRunner } from "../../../src/exec/runner.js";
import { captureLogger } from "../helpers/fakes.js";

describe("createRunner with onLine", () => {
  it("hands each stdout line on as it comes and keeps none", async () => {
    const run = createRunner(captureLogger().log);
    const lines: string[] = [];
    const r = await run("sh", ["-c", "printf 'one\\ntwo\\n'; sleep 0.1; printf 'three\\n'"], {
      onLine: (l) => lines.push(l),
    });
    expect(lines).toEqual(["one", "two", "three"]);
    expect(r.stdout).toBe("");
    expect(r.exitCode).toBe(0);
  });
});
