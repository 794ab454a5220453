import { describe, expect, it } from "vitest";
import { ExitCode, formatError, isRfError, RfError, type ErrorCode } from "../../src/errors.js";

describe("RfError", () => {
  it.each([
    ["CONFIG", 2],
    ["USAGE", 2],
    ["LOCKED", 4],
    ["ROLLED_BACK", 3],
    ["HEALTH", 1],
    ["NGINX", 1],
    ["COMMAND", 1],
  ] as [ErrorCode, number][])("%s exits with %i by default", (code, exit) => {
    expect(new RfError(code, "m").exitCode).toBe(exit);
  });

  it("keeps an explicit exit code, hint, details and cause", () => {
    const cause = new Error("root cause");
    const e = new RfError("HEALTH", "m", { exitCode: ExitCode.rolledBack, hint: "h", details: "d", cause });
    expect(e).toMatchObject({ name: "RfError", code: "HEALTH", exitCode: 3, hint: "h", details: "d" });
    expect(e.cause).toBe(cause);
    expect(isRfError(e)).toBe(true);
    expect(isRfError(new Error("m"))).toBe(false);
  });
});

describe("formatError", () => {
  it("prints the message, the fix, then the details", () => {
    const e = new RfError("HEALTH", "the blue api never became healthy", {
      hint: "fix the release",
      details: "--- last lines ---\nTraceback\n\n",
    });
    expect(formatError(e)).toBe(
      "rf-agent: the blue api never became healthy\n  fix: fix the release\n\n--- last lines ---\nTraceback",
    );
  });

  it("prints only the message when there is nothing else", () => {
    expect(formatError(new RfError("USAGE", "unknown command"))).toBe("rf-agent: unknown command");
  });
});
