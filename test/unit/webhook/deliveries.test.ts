import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DeliveryLog } from "../../../src/webhook/deliveries.js";
import { tempDir } from "../helpers/fakes.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

describe("DeliveryLog", () => {
  it("remembers keys across restarts, in a 0600 file", async () => {
    const file = path.join(dir, "deliveries.json");
    const log = await DeliveryLog.open(file);
    expect(log.has(["delivery:a"])).toBe(false);
    await log.remember(["delivery:a", "body:1"]);
    expect(log.has(["delivery:a"])).toBe(true);
    expect(log.has(["delivery:x", "body:1"])).toBe(true);
    const again = await DeliveryLog.open(file);
    expect(again.has(["delivery:a"])).toBe(true);
    const { stat } = await import("node:fs/promises");
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it("keeps only the newest keys up to its cap", async () => {
    const file = path.join(dir, "deliveries.json");
    const log = await DeliveryLog.open(file, 3);
    for (const k of ["a", "b", "c", "d"]) await log.remember([k]);
    expect(log.size).toBe(3);
    expect(log.has(["a"])).toBe(false);
    expect(JSON.parse(await readFile(file, "utf8"))).toEqual(["b", "c", "d"]);
  });

  it("forgets keys (a request that could not be filed)", async () => {
    const log = await DeliveryLog.open(path.join(dir, "d.json"));
    await log.remember(["a"]);
    log.forget(["a"]);
    expect(log.has(["a"])).toBe(false);
    await log.flush();
  });

  it("starts empty from a corrupt or foreign file instead of failing", async () => {
    const file = path.join(dir, "d.json");
    await writeFile(file, "{not json");
    expect((await DeliveryLog.open(file)).size).toBe(0);
    await writeFile(file, '{"a":1}');
    expect((await DeliveryLog.open(file)).size).toBe(0);
    await writeFile(file, '["a", 3, null, "b"]');
    expect((await DeliveryLog.open(file)).size).toBe(2);
  });

  it("marks keys seen before the write finishes, so a concurrent duplicate loses", async () => {
    const log = await DeliveryLog.open(path.join(dir, "d.json"));
    const writing = log.remember(["a"]);
    expect(log.has(["a"])).toBe(true);
    await writing;
  });
});
