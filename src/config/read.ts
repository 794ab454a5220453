// Turns ini text into raw string values per section, reporting unknown, misspelt, and repeated
// sections and keys. Values are decoded by the `ini` package, fed only the lines that passed the scan.
import ini from "ini";
import type { Problem } from "./problems.js";
import { keyName } from "./problems.js";
import { scanIni, type ScannedKey } from "./scan.js";
import { SECTION_SCHEMAS, SERVICE_NAME, keysOf, serviceSchema, type FixedSection } from "./schema.js";
import { closest } from "./suggest.js";

export type Values = Record<string, string>;

export interface RawConfig {
  fixed: Partial<Record<FixedSection, Values>>;
  /** In file order. */
  services: { name: string; values: Values }[];
}

const FIXED = Object.keys(SECTION_SCHEMAS) as FixedSection[];
const SERVICE_KEYS = keysOf(serviceSchema);
const SERVICE_PREFIX = "service.";
const isFixed = (name: string): name is FixedSection => (FIXED as string[]).includes(name);

// Keys `ini` would mangle, read from the raw line instead: a value wrapped in quotes loses them,
// so pip_args = "a b" would silently become two arguments.
const RAW_KEYS = new Set(["app.pip_args"]);

export function readConfigText(text: string, problems: Problem[]): RawConfig {
  const scan = scanIni(text);
  problems.push(...scan.problems);

  const sections = new Map<string, { line: number; keys: Map<string, ScannedKey> }>();
  for (const section of scan.sections) {
    const known = knownKeys(section.name);
    if (typeof known === "string") {
      problems.push({ section: section.name, message: known });
      continue;
    }
    let kept = sections.get(section.name);
    if (kept) {
      problems.push({
        section: section.name,
        message: `appears twice (lines ${kept.line} and ${section.line}); merge them into one section`,
      });
    } else {
      kept = { line: section.line, keys: new Map() };
      sections.set(section.name, kept);
    }
    for (const key of section.keys) {
      const first = kept.keys.get(key.name);
      if (!known.includes(key.name)) {
        problems.push({
          section: section.name,
          key: key.name,
          message: unknownKey(section.name, key.name, known),
        });
      } else if (first) {
        problems.push({
          section: section.name,
          key: key.name,
          message: `set twice (lines ${first.line} and ${key.line}); keep one`,
        });
      } else {
        kept.keys.set(key.name, key);
      }
    }
  }

  // Headers are rewritten bare, so a trailing comment cannot turn them into keys.
  const clean = [...sections].flatMap(([name, { keys }]) => [
    `[${name}]`,
    ...[...keys.values()].map((k) => k.text),
  ]);
  const decoded = ini.decode(clean.join("\n"));

  const raw: RawConfig = { fixed: {}, services: [] };
  for (const [name, { keys }] of sections) {
    const node = name
      .split(".")
      .reduce<unknown>((n, part) => (n as Record<string, unknown> | undefined)?.[part], decoded);
    const values: Values = Object.create(null) as Values;
    for (const key of keys.values()) {
      const value = RAW_KEYS.has(`${name}.${key.name}`)
        ? key.raw.trim()
        : asText((node as Record<string, unknown> | undefined)?.[key.name]);
      if (value !== undefined) values[key.name] = value;
    }
    if (isFixed(name)) raw.fixed[name] = values;
    else raw.services.push({ name: name.slice(SERVICE_PREFIX.length), values });
  }
  return raw;
}

/** `ini` turns true/false/null (and quoted JSON) into non-strings; validation works on the text. */
function asText(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  return typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
}

/** The keys a section takes, or why the section itself is wrong. */
function knownKeys(name: string): string[] | string {
  if (isFixed(name)) return keysOf(SECTION_SCHEMAS[name]);
  if (name.startsWith(SERVICE_PREFIX)) {
    const service = name.slice(SERVICE_PREFIX.length);
    if (SERVICE_NAME.test(service)) return SERVICE_KEYS;
    return `service name ${JSON.stringify(service)} must be 1-20 lowercase letters, digits or -, starting with a letter`;
  }
  if (name === "service" || name === "services") return "a service section needs a name, e.g. [service.api]";
  const dot = name.indexOf(".");
  const suggestion =
    dot > 0 && closest(name.slice(0, dot), ["service"])
      ? `service.${name.slice(dot + 1)}`
      : closest(name, [...FIXED, "service"]);
  if (suggestion === "service") return "a service section needs a name, e.g. [service.api]";
  if (suggestion) return `unknown section; did you mean [${suggestion}]?`;
  return "unknown section; the sections are [app], [health], [nginx], [switch] and [service.NAME]";
}

function unknownKey(section: string, key: string, known: string[]): string {
  const near = closest(key, known);
  if (near) return `unknown key; did you mean ${JSON.stringify(near)}?`;
  const home = FIXED.find((s) => keysOf(SECTION_SCHEMAS[s]).includes(key));
  if (home) return `unknown key here; it belongs in [${home}]`;
  if (SERVICE_KEYS.includes(key)) return "unknown key here; it belongs in a [service.NAME] section";
  return `unknown key; [${section}] takes ${known.map(keyName).join(", ")}`;
}
