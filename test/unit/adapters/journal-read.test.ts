// journalctl through the Runner: the arguments it gets and how its failures read.
import { describe, expect, it } from "vitest";
import { journalTail, readJournal } from "../../../src/adapters/journal.js";
import { failureOf, fakeRunner } from "../helpers/fakes.js";

const line = (c: { file: string; args: string[] }) => [c.file, ...c.args].join(" ");

describe("journalTail", () => {
  it("asks for the last lines of one unit", async () => {
    const run = fakeRunner(() => ({ stdout: "line 1\nline 2\n" }));
    expect(await journalTail(run, "demo-api@blue.service", 15)).toBe("line 1\nline 2");
    expect(line(run.calls[0]!)).toBe("journalctl -u demo-api@blue.service -n 15 --no-pager -o short-iso");
  });
});

describe("readJournal", () => {
  it("hands each JSON line on, with the caller's arguments after --no-pager -o json", async () => {
    const run = fakeRunner((_f, _a, options) => {
      options?.onLine?.('{"MESSAGE":"a"}');
      options?.onLine?.('{"MESSAGE":"b"}');
      return {};
    });
    const lines: string[] = [];
    await readJournal(run, ["-u", "x.service", "-n", "5"], (l) => lines.push(l));
    expect(lines).toEqual(['{"MESSAGE":"a"}', '{"MESSAGE":"b"}']);
    expect(line(run.calls[0]!)).toBe("journalctl --no-pager -o json -u x.service -n 5");
  });

  it("takes exit 1 (no entries) as no lines, and fails on another status with journalctl's first line", async () => {
    await readJournal(
      fakeRunner(() => ({ exitCode: 1, stderr: "-- No entries --" })),
      [],
      () => undefined,
    );
    const e = await failureOf(
      readJournal(
        fakeRunner(() => ({ exitCode: 2, stderr: "Failed to open journal: Permission denied\nmore" })),
        [],
        () => undefined,
      ),
    );
    expect(e.message).toBe("journalctl failed: Failed to open journal: Permission denied");
    expect(e.hint).toContain("systemd-journal");
  });
});
