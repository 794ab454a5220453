import { describe, expect, it } from "vitest";
import { noExecPrefix } from "../../../src/config/rules.js";
import { problemOf, withLines } from "./helpers.js";

describe("noExecPrefix", () => {
  it.each(["+", "-", "@", ":", "!", "!!"])("refuses a first word starting with %j", (prefix) => {
    expect(noExecPrefix(`${prefix}/usr/bin/python -m app {port}`)).toContain(
      `must not start with ${JSON.stringify(prefix)}: systemd reads it as an ExecStart= prefix`,
    );
  });

  it("sees the prefix inside quotes too (quotes go away before systemd sees the word)", () => {
    expect(noExecPrefix(`"+/bin/sh" -c 'run {port}'`)).toBeDefined();
  });

  it.each(["uvicorn main:app --port {port}", "/usr/bin/env -i run {port}", "run +x -y @z {port}", "  "])(
    "accepts %j",
    (command) => {
      expect(noExecPrefix(command)).toBeUndefined();
    },
  );
});

describe("[service.NAME] command with an ExecStart prefix", () => {
  it("is a config error naming the section and key, with the fix", () => {
    const problem = problemOf(
      withLines("[service.api]", "command = +/usr/bin/python3 -m http.server {port}", "ports = 7000, 7001"),
    );
    expect(problem).toMatch(/^\[service\.api\] command: must not start with "\+"/);
    expect(problem).toContain("would run the service as root");
    expect(problem).toContain("start with the program itself");
  });
});
