// Words: shell-like splitting for `command` and `pip_args` (whitespace separates words, '...' is
// literal, and "..." allows \" and \\): the one splitter, used to check the config and, in
// src/core/command-line.ts, to run the command. And the command line's global options, which may
// come before or after the command.

export type Split = { ok: true; words: string[] } | { ok: false; error: string };

export interface SplitOptions {
  /** Stop at an unquoted ; or # (an ini comment); \; and \# stand for the characters themselves. */
  comments?: boolean;
}

export function splitArgs(text: string, options: SplitOptions = {}): Split {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quoteChar: "'" | '"' | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    const next = text[i + 1];
    if (quoteChar) {
      if (ch === quoteChar) quoteChar = null;
      else if (ch === "\\" && quoteChar === '"' && (next === '"' || next === "\\")) word += text[++i];
      else word += ch;
    } else if (ch === "'" || ch === '"') {
      quoteChar = ch;
      inWord = true;
    } else if (options.comments && (ch === ";" || ch === "#")) {
      break;
    } else if (options.comments && ch === "\\" && (next === ";" || next === "#")) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quoteChar) return { ok: false, error: `has an unclosed ${quoteChar} quote` };
  if (inWord) words.push(word);
  return { ok: true, words };
}

/** An option every command takes (--config, -v, -h). */
export interface GlobalOption {
  name: string;
  short?: string;
  takesValue: boolean;
}

export type CommandLine =
  { ok: true; command: string | undefined; args: string[] } | { ok: false; error: string };

/**
 * Finds the command and moves the global options written before it to its arguments, so
 * `rf-agent --config X deploy` reads exactly as `rf-agent deploy --config X`. Any other option
 * before the command is an error: it belongs to a command, and there is none yet.
 */
export function commandLine(argv: string[], globals: GlobalOption[]): CommandLine {
  const before: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (!word.startsWith("-") || word === "-") {
      return { ok: true, command: word, args: [...before, ...argv.slice(i + 1)] };
    }
    const eq = word.indexOf("=");
    const long = word.startsWith("--") ? (eq === -1 ? word.slice(2) : word.slice(2, eq)) : null;
    const option = globals.find((g) => (long !== null ? g.name === long : `-${g.short}` === word));
    if (!option) return { ok: false, error: `unknown option "${word}" before the command` };
    before.push(word);
    if (option.takesValue && eq === -1) {
      const value = argv[i + 1];
      if (value === undefined) return { ok: false, error: `option "${word}" needs a value` };
      before.push(value);
      i++;
    }
  }
  return { ok: true, command: undefined, args: before };
}
