import { readFile } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { historyPath, readHistory } from "../../../src/adapters/history.js";
import { recorded } from "../../../src/ops/recorded.js";
import { RfError } from "../../../src/errors.js";
import { addSecret } from "../../../src/log.js";
import { testConfig } from "../helpers/config.js";
import { captureLogger, dirsUnder, fakeContext, tempDir } from "../helpers/fakes.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

describe("recorded", () => {
  it("records a failure with every registered env-file value scrubbed from its error and its log lines", async () => {
    addSecret("recorded-planted-s3cret");
    const { log, records } = captureLogger("debug");
    const ctx = fakeContext(testConfig(), { dirs: dirsUnder(dir), log });
    const failing = recorded(ctx, "deploy", 0, (run) => {
      ctx.log.info({ step: "hook" }, "pre_switch: token recorded-planted-s3cret");
      run.trigger = "webhook (delivery recorded-planted-s3cret)";
      return Promise.reject(
        new RfError("HOOK", "the pre_switch hook failed: recorded-planted-s3cret", { exitCode: 1 }),
      );
    });
    await expect(failing).rejects.toThrow("the pre_switch hook failed");
    const text = await readFile(historyPath(ctx.layout.stateDir), "utf8");
    expect(text).not.toContain("recorded-planted-s3cret");
    const [entry] = await readHistory(ctx.layout.stateDir);
    expect(entry).toMatchObject({
      outcome: "failed",
      exitCode: 1,
      error: "the pre_switch hook failed: [redacted]",
      trigger: "webhook (delivery [redacted])",
    });
    expect(JSON.stringify(records)).not.toContain("recorded-planted-s3cret");
  });
});
