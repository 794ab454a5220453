// execa's cleanup (kill the child when rf-agent exits) hooks every signal while a child runs, which
// cost start-up time: only a follower, which could outlive rf-agent unnoticed, may pay for it.
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { createRunner } from "../../../src/exec/runner.js";
import { captureLogger } from "../helpers/fakes.js";

const hooked = () => process.listenerCount("SIGHUP") + process.listenerCount("SIGTERM");

describe("createRunner's exit clean-up", () => {
  it("hooks no signal while a command it awaits runs, and hooks them while a follower runs", async () => {
    const run = createRunner(captureLogger().log);
    const before = hooked();
    const awaited = run("sh", ["-c", "sleep 0.3"]);
    await sleep(150);
    expect(hooked()).toBe(before);
    await awaited;
    let during = 0;
    await run("sh", ["-c", "echo line; sleep 0.1"], { onLine: () => void (during = hooked()) });
    expect(during).toBeGreaterThan(before);
  });
});
