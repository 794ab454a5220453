import path from "node:path";
import { mkdir, readdir, symlink } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { RecordedRun } from "../../../src/ops/recorded.js";
import { serveWebhookRequests } from "../../../src/ops/webhook-requests.js";
import { Steps } from "../../../src/ops/steps.js";
import { fileRequest } from "../../../src/webhook/spool.js";
import { testConfig } from "../helpers/config.js";
import { captureLogger, dirsUnder, fakeContext, tempDir } from "../helpers/fakes.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

function run(trigger: string): RecordedRun {
  const { log } = captureLogger();
  const ctx = fakeContext(testConfig(), { log });
  return { id: "d1", ctx, steps: new Steps(log), trigger, learn: () => undefined };
}

describe("serveWebhookRequests", () => {
  it("takes every pending request from the spool beside the state root and names them in the trigger", async () => {
    const spool = path.join(dir, "private", "rf-agent-demo-webhook", "spool");
    for (const id of ["g-1", "g-2"]) {
      await fileRequest(spool, { delivery: id, after: "a".repeat(40), receivedAt: "t", provider: "github" });
      await new Promise((r) => setTimeout(r, 3));
    }
    const { log, records } = captureLogger();
    const ctx = fakeContext(testConfig(), { dirs: dirsUnder(dir), log });
    const r = run("webhook");
    await serveWebhookRequests(ctx, r);
    expect(r.trigger).toBe("webhook (delivery g-2, +1 more)");
    expect(await readdir(spool)).toEqual([]);
    expect(records.at(-1)?.msg).toBe("serving 2 webhook requests; the newest announced aaaaaaaaaaaa");
  });

  it("leaves a symlinked spool unread and says so, and the deploy goes on", async () => {
    const decoy = path.join(dir, "decoy");
    await fileRequest(decoy, {
      delivery: "decoy-1",
      after: "a".repeat(40),
      receivedAt: "t",
      provider: "github",
    });
    const state = path.join(dir, "private", "rf-agent-demo-webhook");
    await mkdir(state, { recursive: true });
    await symlink(decoy, path.join(state, "spool"));
    const { log, records } = captureLogger();
    const ctx = fakeContext(testConfig(), { dirs: dirsUnder(dir), log });
    const r = run("webhook");
    await serveWebhookRequests(ctx, r);
    expect(r.trigger).toBe("webhook (webhook spool refused)");
    expect(await readdir(decoy)).toHaveLength(1);
    expect(records.find((x) => x.level === 50)).toMatchObject({
      msg: expect.stringContaining("spool is a symlink"),
    });
    expect(JSON.stringify(records)).not.toContain("decoy-1");
  });

  it("leaves the trigger alone when nothing is pending", async () => {
    const ctx = fakeContext(testConfig(), { dirs: dirsUnder(dir) });
    const r = run("timer");
    await serveWebhookRequests(ctx, r);
    expect(r.trigger).toBe("timer");
  });
});
