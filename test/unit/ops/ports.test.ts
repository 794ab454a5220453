// foreignHolders: who other than the color's own units listens on its ports (doctor's check).
import { readFile } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { foreignHolders } from "../../../src/ops/ports.js";
import { testConfig } from "../helpers/config.js";
import { dirsUnder, fakeContext, fakeRunner, tempDir } from "../helpers/fakes.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

const listening = (port: number, who: string) =>
  `LISTEN 0      128      127.0.0.1:${port}      0.0.0.0:*    ${who}`;

describe("foreignHolders", () => {
  it("names each port's holder in config order, with its command line; a free port names none", async () => {
    // This test process stands in for a stray server: its pid is real, and it is no unit of ours.
    const me = process.pid;
    const run = fakeRunner((file, args) => {
      expect(file).toBe("ss");
      // every port listens on the green side, whatever was asked: only the asked ones may count
      expect(args.at(-1)).toMatch(/^\( sport = :\d+ or sport = :\d+ \)$/);
      return {
        stdout: `${listening(8001, `users:(("node",pid=${me},fd=20))`)}\n${listening(8502, "")}`,
      };
    });
    const ctx = fakeContext(testConfig(), { run, dirs: dirsUnder(dir) });
    expect(await foreignHolders(ctx, "blue")).toEqual([]);
    const green = await foreignHolders(ctx, "green");
    const command = (await readFile(`/proc/${me}/cmdline`, "utf8")).split("\0").join(" ").trim();
    expect(green.map((h) => [h.service.name, h.color, h.port, h.pid, h.command])).toEqual([
      ["api", "green", 8001, me, command],
      // ss without privileges: a listener whose process it cannot show
      ["web", "green", 8502, 0, "?"],
    ]);
  });
});
