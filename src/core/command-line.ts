// Turning a config `command` into argv (split by the rules the config checks it with,
// src/config/args.ts) and into a systemd ExecStart= line.
import path from "node:path";
import { splitArgs } from "../config/args.js";

/** argv for one color: {port} substituted, a bare program name resolved in the venv's bin. */
export function serviceArgv(command: string, port: number, venv: string): string[] {
  const split = splitArgs(command.replaceAll("{port}", String(port)));
  // The config's rules split the same command already, so a failure here is a bug, not a user's.
  if (!split.ok) throw new Error(`command ${split.error}`);
  const [program, ...rest] = split.words;
  if (!program) throw new Error("empty command");
  const resolved = program.includes("/") ? program : path.join(venv, "bin", program);
  return [resolved, ...rest];
}

// systemd expands % specifiers and $VARS in ExecStart=; user text must not.
function quoteForSystemd(word: string): string {
  // Function replacers: a "$$" replacement string would mean a single "$".
  const escaped = word.replaceAll("%", () => "%%").replaceAll("$", () => "$$");
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(escaped)) return escaped;
  return `"${escaped.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

/**
 * The ExecStart= value for argv. systemd reads a leading + - @ : ! of it as a prefix, not as part of
 * the program ("+" runs it as root, "!" skips User=), so such a program is refused here too, whatever
 * the caller checked before.
 */
export function execStart(argv: string[]): string {
  const program = argv[0];
  if (!program || /^[+\-@:!]/.test(program)) {
    throw new Error(
      `refusing ExecStart= with program ${JSON.stringify(program ?? "")}: a leading + - @ : ! would be read as a systemd prefix`,
    );
  }
  return argv.map(quoteForSystemd).join(" ");
}
