// The forwarder for real: a python receiver on a unix datagram socket plays journald's socket.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openJournal } from "../../../src/adapters/journal.js";
import { encodeNative } from "../../../src/core/journal-entry.js";
import { tempDir } from "../helpers/fakes.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

// Binds the socket, says "ready", then appends each datagram (hex, one per line) to out until "stop".
const RECEIVER = `import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("ready", flush=True)
with open(sys.argv[2], "w") as out:
    while True:
        d = s.recv(1 << 20)
        if d == b"stop":
            break
        out.write(d.hex() + "\\n")
        out.flush()
`;

describe("openJournal", () => {
  it("sends each entry as one datagram in the native protocol, all of them by close()", async () => {
    const sock = path.join(dir, "journal.sock");
    const out = path.join(dir, "got");
    const receiver = execa("python3", ["-c", RECEIVER, sock, out], { buffer: false });
    await new Promise<void>((resolve) => receiver.stdout!.once("data", () => resolve()));
    const sink = openJournal("/usr/bin/python3", sock);
    expect(sink).not.toBeNull();
    const entries: [string, string][][] = Array.from({ length: 50 }, (_, i) => [
      ["MESSAGE", `line ${i}`],
      ["RF_DEPLOY", "abc"],
      ["RF_DETAILS", "two\nlines"],
    ]);
    for (const e of entries) expect(sink!.write(e)).toBe(true);
    await sink!.close();
    await execa("python3", [
      "-c",
      "import socket,sys; s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.sendto(b'stop', sys.argv[1])",
      sock,
    ]);
    await receiver;
    const got = (await readFile(out, "utf8")).trim().split("\n");
    expect(got).toEqual(entries.map((e) => encodeNative(e).toString("hex")));
  });

  it("keeps the process alive while close() waits, so the caller's exit status stands", async () => {
    const sock = path.join(dir, "journal.sock");
    const out = path.join(dir, "got");
    const receiver = execa("python3", ["-c", RECEIVER, sock, out], { buffer: false });
    await new Promise<void>((resolve) => receiver.stdout!.once("data", () => resolve()));
    const module = path.resolve("src/adapters/journal.ts");
    const script = `import { openJournal } from ${JSON.stringify(module)};
const sink = openJournal("/usr/bin/python3", ${JSON.stringify(sock)});
sink.write([["MESSAGE", "last words"]]);
void sink.close().finally(() => process.exit(3));`;
    const r = await execa("npx", ["tsx", "--input-type=module", "-e", script], { reject: false });
    expect(r.exitCode, r.stderr).toBe(3);
    await execa("python3", [
      "-c",
      "import socket,sys; s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.sendto(b'stop', sys.argv[1])",
      sock,
    ]);
    await receiver;
    expect((await readFile(out, "utf8")).trim()).toBe(Buffer.from("MESSAGE=last words\n").toString("hex"));
  });

  it("is null where there is no journal socket", () => {
    expect(openJournal("/usr/bin/python3", path.join(dir, "none.sock"))).toBeNull();
    expect(openJournal(path.join(dir, "no-python"), "/")).toBeNull();
  });
});
