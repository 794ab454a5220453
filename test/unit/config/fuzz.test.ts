// Whatever the file holds, parseConfig returns a Config or a CONFIG RfError that points at the file.
import fc from "fast-check";
import { lineMutations, ODD_PIECES } from "../../support/ini-mutations.js";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../../src/config/load.js";
import { isRfError } from "../../../src/errors.js";
import { FULL_EXAMPLE, SOURCE } from "./helpers.js";

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

function checkOutcome(text: string): void {
  let thrown: unknown;
  try {
    const config = parseConfig(text, SOURCE);
    expect(config.source).toBe(SOURCE);
    return;
  } catch (e) {
    thrown = e;
  }
  if (!isRfError(thrown))
    throw new Error(`non-RfError thrown for ${JSON.stringify(text)}`, { cause: thrown });
  expect(thrown.code).toBe("CONFIG");
  expect(thrown.exitCode).toBe(2);
  expect(`${thrown.message}\n${thrown.details ?? ""}`).toContain("[");
}

const LINES = FULL_EXAMPLE.split("\n");
const ODD_TEXT = fc.oneof(fc.string(), fc.string({ unit: "grapheme" }), fc.constantFrom(...ODD_PIECES));

const mutation = fc.oneof(...lineMutations(ODD_TEXT));

describe("parseConfig fuzz", () => {
  it("turns any string into a Config or a CONFIG error", () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.lorem()), checkOutcome), {
      numRuns: RUNS,
    });
  });

  it("turns any mutation of the example into a Config or a CONFIG error", () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 6 }), (mutations) => {
        checkOutcome(mutations.reduce((lines, m) => m(lines), LINES).join("\n"));
      }),
      { numRuns: RUNS },
    );
  });

  it("accepts the example after harmless changes: extra blanks, comments and spacing", () => {
    const harmless = fc.array(fc.tuple(fc.nat(), fc.constantFrom("", "; note", "# note", "   ")), {
      maxLength: 8,
    });
    fc.assert(
      fc.property(harmless, (inserts) => {
        const lines = [...LINES];
        for (const [i, line] of inserts) lines.splice(i % (lines.length + 1), 0, line);
        expect(parseConfig(lines.join("\r\n"), SOURCE)).toEqual(parseConfig(FULL_EXAMPLE, SOURCE));
      }),
      { numRuns: RUNS },
    );
  });
});
