import { describe, expect, it } from "vitest";
import { isScrubbed } from "../../../src/core/env-file.js";

describe("isScrubbed", () => {
  it.each([
    ["DATABASE_URL", "postgres://u:p@h/db", true],
    ["APP_MODE", "production", true],
    ["DATA_DIR", "/var/lib/app", true],
    ["GREETING", "hello!", true],
    ["GREETING", "hello", false],
    ["PORT", "8000", false],
    ["TIMEOUT", "1234567890", false],
    ["RATIO", "-0.25", false],
    ["BIND", "127.0.0.1", false],
    ["VERSION", "1.2.3", false],
    ["DEBUG", "enabled", false],
    ["DEBUG", "FALSE", false],
  ])("%s=%s -> %s", (name, value, scrubbed) => {
    expect(isScrubbed(name, value, false)).toBe(scrubbed);
  });

  it("scrubs any value of a secret-looking or required variable", () => {
    expect(isScrubbed("API_KEY", "1234", false)).toBe(true);
    expect(isScrubbed("DB_PASSWORD", "true", false)).toBe(true);
    expect(isScrubbed("TENANT", "42", true)).toBe(true);
  });
});
