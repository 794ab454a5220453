import { describe, expect, it } from "vitest";
import { printable, printableLine } from "../../../src/core/printable.js";

describe("printable", () => {
  it.each([
    ["plain text", "deploy abc123 ok", "deploy abc123 ok"],
    ["tab and newline", "a\tb\nc", "a\tb\nc"],
    ["unicode text", "✓ café ✗", "✓ café ✗"],
    ["a colour (CSI SGR)", "\x1b[31mred\x1b[0m", "red"],
    ["cursor movement and erase", "ok\x1b[2K\x1b[1A\x1b[10;20Hx", "okx"],
    ["a private-mode CSI", "\x1b[?1049hscreen", "screen"],
    ["a window title (OSC with BEL)", "\x1b]0;pwned\x07id", "id"],
    ["a hyperlink (OSC with ST)", "\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\", "link"],
    ["an unterminated OSC", "a\x1b]0;title", "a"],
    ["a DCS string", "a\x1bPq#0;2;0;0;0\x1b\\b", "ab"],
    ["a two-character ESC sequence", "a\x1bcb\x1b(Bc", "abc"],
    ["a lone ESC at the end", "abc\x1b", "abc"],
    ["8-bit CSI", "a\x9b31mb", "ab"],
    ["8-bit OSC", "a\x9d0;t\x9cb", "ab"],
    ["other C0 controls", "a\x00b\x07c\x08d\re\x0bf\x0cg", "abcdefg"],
    ["DEL and C1", "a\x7fb\x85c\x8ed\x9ce", "abcde"],
    ["8-bit APC string", "a\x9fhidden\x9cb", "ab"],
    ["bidi overrides", "abc\u202edcba\u2066x\u2069", "abcdcbax"],
  ])("strips %s", (_, input, output) => {
    expect(printable(input)).toBe(output);
  });

  it("leaves nothing below 0x20 but tab and newline in any input", () => {
    let all = "";
    for (let c = 0; c < 0x100; c++) all += String.fromCharCode(c);
    expect([...printable(all)].filter((ch) => ch < " " || (ch >= "\x7f" && ch <= "\x9f"))).toEqual([
      "\t",
      "\n",
    ]);
  });
});

describe("printableLine", () => {
  it("keeps one field on one line", () => {
    expect(printableLine("id\n2026-01-01 forged line\tx\x1b[1m")).toBe("id 2026-01-01 forged line x");
    expect(printableLine("a\u2028b\u2029c")).toBe("a b c");
  });
});
