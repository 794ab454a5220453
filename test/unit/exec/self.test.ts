import { describe, expect, it } from "vitest";
import { selfCommand } from "../../../src/exec/self.js";

describe("selfCommand", () => {
  it("runs the single executable alone, whatever name it was called by", () => {
    expect(selfCommand(true, "/usr/local/bin/rf-agent", "rf-agent")).toEqual(["/usr/local/bin/rf-agent"]);
  });

  it("runs node with the script, made absolute", () => {
    expect(selfCommand(false, "/usr/bin/node", "/usr/bin/rf-agent")).toEqual([
      "/usr/bin/node",
      "/usr/bin/rf-agent",
    ]);
    expect(selfCommand(false, "/usr/bin/node", "dist/cli.js")[1]).toBe(`${process.cwd()}/dist/cli.js`);
  });

  it("from the test runner (not a single executable): this node", () => {
    expect(selfCommand()[0]).toBe(process.execPath);
    expect(selfCommand()).toHaveLength(2);
  });
});
