// createRunner with stdinUntil: a child that waits for rf-agent's word on its stdin (the fetch's unit)
// and ends when its stdin closes, either when the caller lets go or when rf-agent dies.
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { createRunner } from "../../../src/exec/runner.js";
import { captureLogger, tempDir } from "../helpers/fakes.js";

const run = createRunner(captureLogger().log);

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe("createRunner with stdinUntil", () => {
  it("keeps the child's stdin open until the promise settles, then the child sees end of input", async () => {
    const held = deferred();
    const lines: string[] = [];
    let ended = false;
    const child = run("sh", ["-c", "echo ready; cat >/dev/null; echo stdin closed"], {
      stdinUntil: held.promise,
      onLine: (l) => lines.push(l),
    }).then((r) => {
      ended = true;
      return r;
    });
    for (let i = 0; i < 100 && lines.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(lines).toEqual(["ready"]);
    await new Promise((r) => setTimeout(r, 200));
    expect(ended).toBe(false);
    held.resolve();
    expect((await child).exitCode).toBe(0);
    expect(lines).toEqual(["ready", "stdin closed"]);
  });

  it("writes the text the promise resolves to, then closes it: the child reads one word, then end of input", async () => {
    let said!: (w: string) => void;
    const text = new Promise<string>((r) => (said = r));
    const lines: string[] = [];
    const child = run("sh", ["-c", 'echo waiting; read -r w; echo "got $w"; cat; echo eof'], {
      stdinUntil: text,
      onLine: (l) => lines.push(l),
    });
    for (let i = 0; i < 100 && lines.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(lines).toEqual(["waiting"]);
    said("checkout\n");
    expect((await child).exitCode).toBe(0);
    expect(lines).toEqual(["waiting", "got checkout", "eof"]);
  });

  it("closes it on a rejected promise too", async () => {
    const r = await run("cat", [], { stdinUntil: Promise.reject(new Error("gave up")) });
    expect(r).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  });

  it("ends the child when rf-agent is killed: the kernel closes the pipe", async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const marker = path.join(dir, "ended");
      const runner = pathToFileURL(path.resolve("src/exec/runner.ts")).href;
      const logModule = pathToFileURL(path.resolve("src/log.ts")).href;
      const script = `
        const { createRunner } = await import(${JSON.stringify(runner)});
        const { createLogger } = await import(${JSON.stringify(logModule)});
        const run = createRunner(createLogger({ level: "silent" }));
        void run("sh", ["-c", 'echo ready; cat >/dev/null; echo gone > "$0"', process.argv[1]], {
          stdinUntil: new Promise(() => {}),
          onLine: (l) => console.log(l),
        });
        setInterval(() => {}, 1000);
      `;
      const parent = spawn(
        process.execPath,
        ["--import", "tsx", "--input-type=module", "-e", script, marker],
        {
          stdio: ["ignore", "pipe", "inherit"],
        },
      );
      await new Promise<void>((resolve, reject) => {
        parent.stdout.on("data", (d: Buffer) => {
          if (d.toString().includes("ready")) resolve();
        });
        parent.once("exit", () => reject(new Error("the parent exited before its child was ready")));
      });
      parent.kill("SIGKILL");
      let text = "";
      for (let i = 0; i < 150 && !text; i++) {
        text = await readFile(marker, "utf8").catch(() => "");
        if (!text) await new Promise((r) => setTimeout(r, 20));
      }
      expect(text).toBe("gone\n");
    } finally {
      await cleanup();
    }
  }, 15_000);
});
