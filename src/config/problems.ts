// One config problem per line, each naming where it is and what would be right.
import { RfError } from "../errors.js";

export interface Problem {
  /** Section as written between brackets, e.g. "health" or "service.api". */
  section?: string;
  key?: string;
  /** 1-based line, for problems a section/key pair cannot locate. */
  line?: number;
  message: string;
}

const MAX_SHOWN = 80;

/** A user value in double quotes, escaped and clipped so each problem stays one readable line. */
export function quote(value: string): string {
  const clipped = value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN)}...` : value;
  return JSON.stringify(clipped);
}

/** How a key is shown: bare when it is a plain word, quoted when it has odd characters. */
export function keyName(key: string): string {
  return /^[A-Za-z0-9_.-]+$/.test(key) ? key : quote(key);
}

export function formatProblem(p: Problem): string {
  const where = [
    p.section === undefined ? undefined : `[${p.section}]`,
    p.key === undefined ? undefined : keyName(p.key),
    p.line === undefined ? undefined : `line ${p.line}`,
  ].filter((part) => part !== undefined);
  return `${where.join(" ")}: ${p.message}`;
}

export function configError(source: string, problems: readonly Problem[]): RfError {
  const lines = problems.map(formatProblem);
  const hint = `edit ${source} as described above; every key is documented in README.md under "Configuration"`;
  if (lines.length === 1) return new RfError("CONFIG", `config ${source} is invalid: ${lines[0]}`, { hint });
  return new RfError("CONFIG", `config ${source} has ${lines.length} problems`, {
    hint,
    details: lines.join("\n"),
  });
}
