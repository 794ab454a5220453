// Text from the network on its way to logs, answers or `history`: escape sequences and control
// characters dropped (core/printable), one line, and a length cap, so a header or a ref can
// neither forge a line nor drive a terminal.
import { printableLine } from "../core/printable.js";

const LINE_SEPARATORS = /[\u2028\u2029]/g;

export function printable(text: string, max = 200): string {
  const clean = printableLine(text).replace(LINE_SEPARATORS, " ");
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/** printable() of a value that may be absent. */
export function printableOrUndefined(text: string | undefined, max = 200): string | undefined {
  return text === undefined ? undefined : printable(text, max);
}
