import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { webhook } from "../../../src/commands/webhook.js";
import { layoutFor } from "../../../src/core/layout.js";
import { githubSignature } from "../../../src/webhook/signature.js";
import { testConfig } from "../helpers/config.js";
import { captureLogger, dirsUnder, tempDir } from "../helpers/fakes.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

const SECRET = "s".repeat(40);

describe("rf-agent webhook", () => {
  it("reads the secret from its credential, files a signed push into the spool, stops on request", async () => {
    const credentials = path.join(dir, "credentials");
    await mkdir(credentials);
    await writeFile(path.join(credentials, "secret"), `${SECRET}\n`);
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const config = testConfig((c) => (c.webhook.listen = { host: "127.0.0.1", port }));
    const layout = layoutFor(config, dirsUnder(dir));
    const { log, records } = captureLogger();
    let stop!: () => void;
    const running = webhook(config, log, {
      env: { CREDENTIALS_DIRECTORY: credentials },
      layout,
      until: new Promise<void>((r) => (stop = r)),
    });
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 50; i++) {
      if (
        await fetch(`${url}/healthz`).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const body = JSON.stringify({ ref: "refs/heads/main", after: "b".repeat(40) });
    const r = await fetch(`${url}/hooks/demo`, {
      method: "POST",
      body,
      headers: {
        "x-github-event": "push",
        "x-github-delivery": "d-42",
        "x-hub-signature-256": githubSignature(Buffer.from(SECRET), Buffer.from(body)),
      },
    });
    expect(r.status).toBe(202);
    const [name] = await readdir(layout.triggers.spoolDir);
    expect(JSON.parse(await readFile(path.join(layout.triggers.spoolDir, name!), "utf8"))).toMatchObject({
      delivery: "d-42",
      after: "b".repeat(40),
      provider: "github",
    });
    stop();
    expect(await running).toBe(0);
    expect(JSON.parse(await readFile(layout.triggers.deliveriesPath, "utf8"))).toContain("delivery:d-42");
    expect(JSON.stringify(records)).not.toContain(SECRET);
  });

  it("names the port when it cannot listen", async () => {
    const blocker = (await import("node:http")).createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    const port = (blocker.address() as { port: number }).port;
    const credentials = path.join(dir, "c");
    await mkdir(credentials);
    await writeFile(path.join(credentials, "secret"), SECRET);
    const config = testConfig((c) => (c.webhook.listen = { host: "127.0.0.1", port }));
    const e = await webhook(config, captureLogger().log, {
      env: { CREDENTIALS_DIRECTORY: credentials },
      layout: layoutFor(config, dirsUnder(dir)),
      until: Promise.resolve(),
    }).catch((x: unknown) => x as Error);
    blocker.close();
    expect((e as Error).message).toBe(`the webhook listener cannot listen on 127.0.0.1:${port}: EADDRINUSE`);
  });
});
