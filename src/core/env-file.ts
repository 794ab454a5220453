// Reading systemd EnvironmentFile= files, and judging required variables without ever printing a value.

/** KEY=VALUE lines as systemd reads them: comments, blank lines, optional quotes. */
export function parseEnvFile(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0]) {
      value = value.slice(1, -1);
    }
    vars.set(key, value);
  }
  return vars;
}

const PLACEHOLDERS = new Set([
  "changeme",
  "change-me",
  "change_me",
  "placeholder",
  "todo",
  "tbd",
  "fixme",
  "example",
  "dummy",
  "secret",
  "password",
  "default",
  "none",
  "null",
  "xxx",
]);

/** Names that say the value is a secret, so it also has a minimum length. */
export function looksSecret(name: string): boolean {
  return /SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|PRIVATE|_KEY$|^KEY$/i.test(name);
}

const BOOLEAN_WORDS = new Set(["true", "false", "yes", "no", "on", "off", "enabled", "disabled"]);

/**
 * Whether a value of the app's env files is scrubbed from every output (logs and journal, hook output,
 * printed errors, history, notifications). Every value is, except ones too plain to be secret, which
 * would otherwise blank out ordinary words: shorter than 6 characters, numbers (also versions, IPv4
 * addresses, times: only digits and . : + -) and booleans. A variable whose name looks secret or that
 * [app] required_env lists is scrubbed whatever its value (log.ts addSecret still ignores values under
 * 4 characters: they would cut every word that contains them, and no real secret is that short).
 */
export function isScrubbed(name: string, value: string, required: boolean): boolean {
  if (looksSecret(name) || required) return true;
  return value.length >= 6 && !/^[0-9.:+-]+$/.test(value) && !BOOLEAN_WORDS.has(value.toLowerCase());
}

/** What is wrong with a required variable, in words that never include its value; null when fine. */
export function judgeRequired(
  name: string,
  value: string | undefined,
  minSecretLength: number,
): string | null {
  if (value === undefined) return `${name} is not set`;
  if (value.trim() === "") return `${name} is empty`;
  const v = value.trim().toLowerCase();
  if (
    PLACEHOLDERS.has(v) ||
    v.startsWith("dev-key") ||
    v.startsWith("changeme") ||
    /^x+$/.test(v) ||
    /^<.*>$/.test(v) ||
    /^\$\{.*\}$/.test(v)
  ) {
    return `${name} is still a placeholder value`;
  }
  if (looksSecret(name) && value.length < minSecretLength) {
    return `${name} is shorter than ${minSecretLength} characters, too short for a secret`;
  }
  return null;
}
