// A line-by-line pass over the ini text before the `ini` package sees it. The package never reports
// anything: it reads "[health]  ; comment" as a key of the previous section, keeps the last of duplicate
// keys, and skips lines it cannot read. This pass finds those cases, with line numbers.
import ini from "ini";
import type { Problem } from "./problems.js";
import { quote } from "./problems.js";

export interface ScannedKey {
  name: string;
  line: number;
  /** The line as written, handed on to `ini` to decode the value. */
  text: string;
  /** Everything after the first "=", untouched by `ini`. */
  raw: string;
}

export interface ScannedSection {
  name: string;
  line: number;
  keys: ScannedKey[];
}

export interface Scan {
  sections: ScannedSection[];
  problems: Problem[];
}

// A header, optionally followed by a comment (which `ini` itself does not accept).
const HEADER = /^\[([^[\]]*)\]\s*(?:[;#].*)?$/;
// The same tests `ini` uses, so both agree on what is a comment and what is a key.
const SKIPPED = /^\s*(?:[;#]|$)/;
const KEY_LINE = /^([^=]+)(=(.*))?$/;
const LINE_BREAK = /\r\n|\r|\n/;

export function scanIni(text: string): Scan {
  const sections: ScannedSection[] = [];
  const problems: Problem[] = [];
  // undefined: before any header; null: after a broken header, whose keys are not checked further.
  let current: ScannedSection | null | undefined;

  text.split(LINE_BREAK).forEach((line, index) => {
    const lineNo = index + 1;
    if (SKIPPED.test(line)) return;
    const trimmed = line.trim();
    if (trimmed.startsWith("[")) {
      const header = HEADER.exec(trimmed);
      if (header) {
        current = { name: header[1]!.trim(), line: lineNo, keys: [] };
        sections.push(current);
      } else {
        problems.push({
          line: lineNo,
          message: `${quote(trimmed)} is not a section header; write [name] alone on its line (a ; comment may follow)`,
        });
        current = null;
      }
      return;
    }
    const match = KEY_LINE.exec(line);
    if (!match || match[2] === undefined) {
      problems.push({
        ...(current ? { section: current.name } : {}),
        line: lineNo,
        message: `expected key = value, got ${quote(trimmed)}`,
      });
      return;
    }
    const name = ini.unsafe(match[1]!);
    if (current === undefined) {
      problems.push({
        line: lineNo,
        message: `key ${quote(name)} comes before any [section] header; move it under the section it belongs to`,
      });
    } else if (current !== null) {
      current.keys.push({ name, line: lineNo, text: line, raw: match[3]! });
    }
  });
  return { sections, problems };
}
