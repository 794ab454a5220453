// Shell-like word splitting for `command` and `pip_args`: whitespace separates words, '...' is literal,
// and "..." allows \" and \\ (the rules src/core/command-line.ts uses to run the command).

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
