// Turning a config `command` into argv and into a systemd ExecStart= line.
import path from "node:path";

/** Split like a POSIX shell would for plain words and '...'/"..." quotes (no expansions). */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  let current = "";
  let inWord = false;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === quote) quote = null;
      else if (ch === "\\" && quote === '"' && (text[i + 1] === '"' || text[i + 1] === "\\"))
        current += text[++i];
      else current += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(current);
      current = "";
      inWord = false;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unclosed ${quote} quote`);
  if (inWord) words.push(current);
  return words;
}

/** argv for one color: {port} substituted, a bare program name resolved in the venv's bin. */
export function serviceArgv(command: string, port: number, venv: string): string[] {
  const words = splitWords(command.replaceAll("{port}", String(port)));
  const [program, ...rest] = words;
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
