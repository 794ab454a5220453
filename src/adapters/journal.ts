// The journal: read with journalctl (the only module that runs it), written through journald's
// native socket, for entries with fields of their own (RF_DEPLOY, RF_COLOR, RF_STEP).
// Node has no unix datagram sockets, so a small python3 (which every host of ours has: the venvs
// are made from it) forwards each entry; root runs it isolated (-I) from /, with a fixed script.
// The forwarder is the logger's own sink, made before any Runner exists (a Runner logs), so it
// is the one child rf-agent starts itself.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { encodeNative } from "../core/journal-entry.js";
import { RfError } from "../errors.js";
import type { Runner } from "../exec/runner.js";

/** The last lines of one unit's journal, for an error's details. */
export async function journalTail(run: Runner, unit: string, lines = 20): Promise<string> {
  const r = await run("journalctl", ["-u", unit, "-n", String(lines), "--no-pager", "-o", "short-iso"], {
    reject: false,
  });
  return r.stdout.trim();
}

/**
 * `journalctl --no-pager -o json` with these arguments, each entry (one JSON line) handed to onLine
 * as it arrives (with -f, until journalctl is stopped). No entry matching is not a failure.
 */
export async function readJournal(
  run: Runner,
  args: string[],
  onLine: (line: string) => void,
): Promise<void> {
  const r = await run("journalctl", ["--no-pager", "-o", "json", ...args], { reject: false, onLine });
  if (r.exitCode !== 0 && r.exitCode !== 1 && r.stderr) {
    throw new RfError("COMMAND", `journalctl failed: ${r.stderr.trim().split("\n")[0]}`, {
      hint: "run rf-agent logs as root (or a member of systemd-journal)",
    });
  }
}

export const JOURNAL_SOCKET = "/run/systemd/journal/socket";

// Reads "<length>\n<datagram>" frames from stdin and sends each datagram as it is.
const FORWARDER = `import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect(sys.argv[1])
inp = sys.stdin.buffer
while True:
    head = inp.readline()
    if not head:
        break
    data = inp.read(int(head))
    try:
        s.send(data)
    except OSError:
        pass
`;

export interface JournalSink {
  /** Sends one entry; false once the forwarder is gone (the caller writes to stderr instead). */
  write(fields: [string, string][]): boolean;
  /** Every entry written so far is in the journal when this resolves. */
  close(): Promise<void>;
}

/** A sink to the journal, or null when this host has no journal socket or python3. */
export function openJournal(python = "/usr/bin/python3", socket = JOURNAL_SOCKET): JournalSink | null {
  if (!existsSync(socket) || !existsSync(python)) return null;
  let child: ChildProcess;
  try {
    child = spawn(python, ["-I", "-c", FORWARDER, socket], {
      cwd: "/",
      stdio: ["pipe", "ignore", "inherit"],
      env: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8" },
    });
  } catch {
    return null;
  }
  let alive = true;
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.once("error", () => resolve());
  });
  void exited.then(() => (alive = false));
  child.stdin?.on("error", () => (alive = false));
  // Never keeps rf-agent running on its own: close() is what waits for it.
  child.unref();
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return {
    write(fields) {
      if (!alive || !child.stdin) return false;
      const data = encodeNative(fields);
      child.stdin.write(Buffer.concat([Buffer.from(`${data.length}\n`), data]));
      return true;
    },
    async close() {
      if (!alive) return;
      // Referenced again while we wait: with nothing else left to do, node would otherwise exit on
      // its own, with status 0, before the caller's process.exit(code).
      child.ref();
      (child.stdin as unknown as { ref?: () => void } | null)?.ref?.();
      child.stdin?.end();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 2000)))]);
      clearTimeout(timer);
    },
  };
}
