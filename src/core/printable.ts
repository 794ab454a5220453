// Text from others (commit subjects, branch names, delivery ids, journal lines, hook output) made safe
// for a terminal: an escape sequence in it could recolour, retitle or rewrite what the operator sees.

/* eslint-disable no-control-regex -- matching control characters is the point of this file */
// Terminal escape sequences as a whole, so their parameters do not stay behind as visible garbage:
// OSC/DCS/SOS/PM/APC strings up to their terminator (BEL or ESC \), CSI with its parameters, and the
// two-character ESC sequences; both the 7-bit (ESC x) and the 8-bit C1 introducers.
const STRING_SEQ = /(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?/g;
const CSI_SEQ = /(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?/g;
const ESC_SEQ = /\x1b[\x20-\x2f]*[\x30-\x7e]?/g;
// What is left: C0 except tab and newline, DEL, C1, and the Unicode bidi overrides that reorder text.
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

/** text without escape sequences or control characters (tab and newline stay). */
export function printable(text: string): string {
  return text.replace(STRING_SEQ, "").replace(CSI_SEQ, "").replace(ESC_SEQ, "").replace(CONTROL, "");
}

/** printable() for one field of one line: a newline, tab or Unicode line separator becomes a space. */
export function printableLine(text: string): string {
  return printable(text).replace(/[\t\n\u2028\u2029]/g, " ");
}
