// Ways to break an ini file line by line, for the config fuzz tests (unit: the parser; integration:
// the CLI on a real host). Each is a function of the file's lines, picked by fast-check.
import fc from "fast-check";

export type Mutation = (lines: string[]) => string[];

/** Text that means something to an ini parser, a shell, a path or a template, to put into a file. */
export const ODD_PIECES = [
  "[",
  "]",
  "=",
  ";",
  "#",
  '"',
  "'",
  "\\",
  "{port}",
  "\r",
  "\t",
  "\u0000",
  "\u2028",
  "__proto__",
  "constructor",
  "[]",
  ".",
  ",",
  "-",
  "/",
  "..",
  "%",
  "$",
  "\\#",
  "\u00e9",
  "\ud83d\ude80",
];

const at = (lines: string[], i: number) => i % Math.max(lines.length, 1);

const splice = (l: string, pos: number, text: string) => {
  const p = pos % (l.length + 1);
  return l.slice(0, p) + text + l.slice(p);
};

/**
 * Delete, duplicate or swap lines, put `oddText` inside a line, or give a key the value `oddValue`.
 */
export function lineMutations(oddText: fc.Arbitrary<string>, oddValue: fc.Arbitrary<string> = oddText) {
  return [
    fc.nat().map(
      (i): Mutation =>
        (ls) =>
          ls.filter((_, j) => j !== at(ls, i)),
    ),
    fc.nat().map(
      (i): Mutation =>
        (ls) =>
          ls.flatMap((l, j) => (j === at(ls, i) ? [l, l] : [l])),
    ),
    fc.tuple(fc.nat(), fc.nat()).map(([i, k]): Mutation => (ls) => {
      const out = [...ls];
      const [a, b] = [at(ls, i), at(ls, k)];
      [out[a], out[b]] = [ls[b]!, ls[a]!];
      return out;
    }),
    fc.tuple(fc.nat(), fc.nat(), oddText).map(
      ([i, pos, text]): Mutation =>
        (ls) =>
          ls.map((l, j) => (j === at(ls, i) ? splice(l, pos, text) : l)),
    ),
    fc.tuple(fc.nat(), oddValue).map(
      ([i, value]): Mutation =>
        (ls) =>
          ls.map((l, j) =>
            j === at(ls, i) && l.includes("=") ? `${l.slice(0, l.indexOf("=") + 1)} ${value}` : l,
          ),
    ),
  ];
}
