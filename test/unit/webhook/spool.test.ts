import { readdir, stat, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  consumeRequests,
  describeTrigger,
  fileRequest,
  MAX_PENDING,
  type DeployRequest,
} from "../../../src/webhook/spool.js";
import { captureLogger, tempDir } from "../helpers/fakes.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

const request = (delivery: string | null, after: string | null = "a".repeat(40)): DeployRequest => ({
  delivery,
  after,
  receivedAt: "2025-01-02T03:04:05.000Z",
  provider: "github",
});

describe("fileRequest", () => {
  it("writes one 0600 *.json file per request, with no temp file left behind", async () => {
    const spool = path.join(dir, "spool");
    expect(await fileRequest(spool, request("d-1"))).toBe("filed");
    const names = await readdir(spool);
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/^\d+-[0-9a-f]{12}\.json$/);
    expect((await stat(path.join(spool, names[0]!))).mode & 0o777).toBe(0o600);
  });

  it("collapses once enough requests are pending", async () => {
    for (let i = 0; i < MAX_PENDING; i++) expect(await fileRequest(dir, request(`d-${i}`))).toBe("filed");
    expect(await fileRequest(dir, request("late"))).toBe("collapsed");
    expect(await readdir(dir)).toHaveLength(MAX_PENDING);
  });
});

describe("consumeRequests", () => {
  it("returns every pending request oldest first and removes the files", async () => {
    await fileRequest(dir, request("d-1"));
    await new Promise((r) => setTimeout(r, 5));
    await fileRequest(dir, request("d-2"));
    const { log } = captureLogger();
    expect((await consumeRequests(dir, log)).map((r) => r.delivery)).toEqual(["d-1", "d-2"]);
    expect(await readdir(dir)).toEqual([]);
    expect(await consumeRequests(dir, log)).toEqual([]);
  });

  it("is empty when the spool does not exist yet", async () => {
    expect(await consumeRequests(path.join(dir, "missing"), captureLogger().log)).toEqual([]);
  });

  it("drops, without reading through, symlinks, oversized and invalid files", async () => {
    const secretFile = path.join(dir, "..", `${path.basename(dir)}-shadow`);
    await writeFile(secretFile, JSON.stringify(request("stolen")));
    await symlink(secretFile, path.join(dir, "1-aa.json"));
    await writeFile(
      path.join(dir, "2-bb.json"),
      JSON.stringify({ ...request("big"), pad: "x".repeat(5000) }),
    );
    await writeFile(path.join(dir, "3-cc.json"), '{"delivery": 5}');
    await writeFile(path.join(dir, "4-dd.json"), "not json");
    await fileRequest(dir, request("good"));
    await writeFile(path.join(dir, "notes.txt"), "left alone");
    const { log, records } = captureLogger();
    expect((await consumeRequests(dir, log)).map((r) => r.delivery)).toEqual(["good"]);
    expect(await readdir(dir)).toEqual(["notes.txt"]);
    expect(records.filter((r) => r.level === 40)).toHaveLength(4);
    expect(JSON.stringify(records)).not.toContain("stolen");
    await (await import("node:fs/promises")).rm(secretFile);
  });
});

describe("describeTrigger", () => {
  it("names the newest delivery and how many more", () => {
    expect(describeTrigger("webhook", [request("d-1")])).toBe("webhook (delivery d-1)");
    expect(describeTrigger("webhook", [request("d-1"), request("d-2"), request("d-3")])).toBe(
      "webhook (delivery d-3, +2 more)",
    );
    expect(describeTrigger("webhook", [request(null)])).toBe("webhook (delivery without id)");
  });

  it("keeps the trigger as is without requests, and adds them to another trigger", () => {
    expect(describeTrigger("webhook", [])).toBe("webhook");
    expect(describeTrigger("timer", [request("d-1")])).toBe("timer (+ webhook delivery d-1)");
  });
});
