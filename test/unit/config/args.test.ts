import { describe, expect, it } from "vitest";
import { commandLine, splitArgs, type GlobalOption } from "../../../src/config/args.js";

const GLOBALS: GlobalOption[] = [
  { name: "config", takesValue: true },
  { name: "help", short: "h", takesValue: false },
  { name: "verbose", short: "v", takesValue: false },
  { name: "version", takesValue: false },
];

describe("commandLine", () => {
  it("reads global options before the command as if they came after it", () => {
    const before = commandLine(["--config", "/etc/x.ini", "deploy", "--ref", "main"], GLOBALS);
    expect(before).toEqual({
      ok: true,
      command: "deploy",
      args: ["--config", "/etc/x.ini", "--ref", "main"],
    });
    const after = commandLine(["deploy", "--ref", "main", "--config", "/etc/x.ini"], GLOBALS);
    expect(after).toEqual({ ok: true, command: "deploy", args: ["--ref", "main", "--config", "/etc/x.ini"] });
  });

  it("takes --name=value, short flags, and several globals in any order", () => {
    expect(commandLine(["-v", "--config=/etc/x.ini", "status", "--json"], GLOBALS)).toEqual({
      ok: true,
      command: "status",
      args: ["-v", "--config=/etc/x.ini", "--json"],
    });
    expect(commandLine(["--verbose", "-h", "rollback"], GLOBALS)).toEqual({
      ok: true,
      command: "rollback",
      args: ["--verbose", "-h"],
    });
  });

  it("a config path that looks like a command is the option's value, not the command", () => {
    expect(commandLine(["--config", "deploy", "status"], GLOBALS)).toEqual({
      ok: true,
      command: "status",
      args: ["--config", "deploy"],
    });
  });

  it("leaves everything after the command to the command, even a word that is a command name", () => {
    expect(commandLine(["rollback", "--to", "deploy", "-v"], GLOBALS)).toEqual({
      ok: true,
      command: "rollback",
      args: ["--to", "deploy", "-v"],
    });
  });

  it("no command: only the globals (rf-agent --version, rf-agent -h, rf-agent)", () => {
    expect(commandLine(["--version"], GLOBALS)).toEqual({
      ok: true,
      command: undefined,
      args: ["--version"],
    });
    expect(commandLine([], GLOBALS)).toEqual({ ok: true, command: undefined, args: [] });
  });

  it("refuses a command's own option before the command, and a global missing its value", () => {
    const own = commandLine(["--ref", "main", "deploy"], GLOBALS);
    expect(own).toEqual({ ok: false, error: 'unknown option "--ref" before the command' });
    expect(commandLine(["-x", "deploy"], GLOBALS).ok).toBe(false);
    expect(commandLine(["--config"], GLOBALS)).toEqual({
      ok: false,
      error: 'option "--config" needs a value',
    });
  });
});

describe("splitArgs", () => {
  it("splits on whitespace, keeps quoted words whole", () => {
    expect(splitArgs(`uvicorn main:app --root-path '/a b' "x \\" y"`)).toEqual({
      ok: true,
      words: ["uvicorn", "main:app", "--root-path", "/a b", 'x " y'],
    });
    expect(splitArgs("a 'b")).toEqual({ ok: false, error: "has an unclosed ' quote" });
  });

  it.each([
    ["plain words", "a b c", ["a", "b", "c"]],
    ["runs of spaces and tabs", "  a \t b\n c  ", ["a", "b", "c"]],
    ["single quotes keep spaces", "run 'two words' x", ["run", "two words", "x"]],
    ["double quotes keep spaces", 'run "two words" x', ["run", "two words", "x"]],
    ["quotes join with adjacent text", "--name='a b'c", ["--name=a bc"]],
    ["an empty quoted word is a word", "a '' b", ["a", "", "b"]],
    ["the other quote is literal inside quotes", `"it's" 'say "hi"'`, ["it's", 'say "hi"']],
    ['\\" and \\\\ are escapes inside double quotes', '"a\\"b\\\\c"', ['a"b\\c']],
    ["a backslash is literal inside single quotes", "'a\\'", ["a\\"]],
    ["other backslashes inside double quotes stay", '"a\\nb"', ["a\\nb"]],
    ["nothing at all", "   ", []],
  ])("splits %s", (_, text, words) => {
    expect(splitArgs(text)).toEqual({ ok: true, words });
  });

  it.each([
    ["an unclosed single quote", "run 'oops", "has an unclosed ' quote"],
    ["an unclosed double quote", 'run "oops', 'has an unclosed " quote'],
    ["a quote closed by the other kind", `run "oops'`, 'has an unclosed " quote'],
  ])("refuses %s", (_, text, error) => {
    expect(splitArgs(text)).toEqual({ ok: false, error });
  });
});
