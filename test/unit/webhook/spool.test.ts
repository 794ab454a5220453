import { execFileSync } from "node:child_process";
import {
  chmod,
  chown,
  link,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  consumeRequests,
  describeTrigger,
  fileRequest,
  MAX_PENDING,
  type DeployRequest,
  type SpoolTrust,
} from "../../../src/webhook/spool.js";
import { captureLogger, tempDir } from "../helpers/fakes.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

const request = (delivery: string | null, after: string | null = "a".repeat(40)): DeployRequest => ({
  delivery,
  after,
  receivedAt: "2025-01-02T03:04:05.000Z",
  provider: "github",
});

describe("fileRequest", () => {
  it("writes one 0600 *.json file per request, with no temp file left behind", async () => {
    const spool = path.join(dir, "spool");
    expect(await fileRequest(spool, request("d-1"))).toBe("filed");
    const names = await readdir(spool);
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/^\d+-[0-9a-f]{12}\.json$/);
    expect((await stat(path.join(spool, names[0]!))).mode & 0o777).toBe(0o600);
  });

  it("collapses once enough requests are pending", async () => {
    for (let i = 0; i < MAX_PENDING; i++) expect(await fileRequest(dir, request(`d-${i}`))).toBe("filed");
    expect(await fileRequest(dir, request("late"))).toBe("collapsed");
    expect(await readdir(dir)).toHaveLength(MAX_PENDING);
  });
});

describe("consumeRequests", () => {
  // The spool as install lays it out below a root-owned top: top/private/<listener state>/spool.
  let spool: string;
  let trust: SpoolTrust;
  beforeEach(async () => {
    spool = path.join(dir, "private", "state", "spool");
    await mkdir(spool, { recursive: true, mode: 0o700 });
    trust = { top: dir };
  });

  it("returns every pending request oldest first and removes the files", async () => {
    await fileRequest(spool, request("d-1"));
    await new Promise((r) => setTimeout(r, 5));
    await fileRequest(spool, request("d-2"));
    const { log } = captureLogger();
    expect((await consumeRequests(spool, log, trust)).map((r) => r.delivery)).toEqual(["d-1", "d-2"]);
    expect(await readdir(spool)).toEqual([]);
    expect(await consumeRequests(spool, log, trust)).toEqual([]);
  });

  it("is empty when the spool does not exist yet", async () => {
    await rm(path.join(dir, "private"), { recursive: true });
    expect(await consumeRequests(spool, captureLogger().log, trust)).toEqual([]);
  });

  it("drops, without reading through, symlinks, hard links, FIFOs, oversized and invalid files", async () => {
    const outside = path.join(dir, "outside");
    await mkdir(outside);
    const secretFile = path.join(outside, "shadow");
    await writeFile(secretFile, JSON.stringify(request("stolen")));
    await symlink(secretFile, path.join(spool, "1-aa.json"));
    const linked = path.join(outside, "linked");
    await writeFile(linked, JSON.stringify(request("linked")));
    await link(linked, path.join(spool, "1-ab.json"));
    execFileSync("mkfifo", [path.join(spool, "1-ac.json")]);
    await writeFile(
      path.join(spool, "2-bb.json"),
      JSON.stringify({ ...request("big"), pad: "x".repeat(5000) }),
    );
    await writeFile(path.join(spool, "3-cc.json"), '{"delivery": 5}');
    await writeFile(path.join(spool, "4-dd.json"), "not json");
    await writeFile(path.join(spool, "5-ee.json"), JSON.stringify(request("x\u001b[31m")));
    await fileRequest(spool, request("good"));
    await writeFile(path.join(spool, "notes.txt"), "left alone");
    const { log, records } = captureLogger();
    expect((await consumeRequests(spool, log, trust)).map((r) => r.delivery)).toEqual(["good"]);
    expect(await readdir(spool)).toEqual(["notes.txt"]);
    expect(records.filter((r) => r.level === 40)).toHaveLength(7);
    expect(JSON.stringify(records)).not.toMatch(/stolen|linked"|\\u001b/);
    // what the links pointed to is untouched
    expect(JSON.parse(await readFile(secretFile, "utf8"))).toMatchObject({ delivery: "stolen" });
    expect(JSON.parse(await readFile(linked, "utf8"))).toMatchObject({ delivery: "linked" });
  });

  it("refuses a spool that is a symlink: the directory it points to is neither read nor emptied", async () => {
    const decoy = path.join(dir, "decoy");
    await mkdir(decoy);
    await fileRequest(decoy, request("decoy-1"));
    const [name] = await readdir(decoy);
    await rm(spool, { recursive: true });
    await symlink(decoy, spool);
    const { log, records } = captureLogger();
    const e = await consumeRequests(spool, log, trust).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: "STATE", message: expect.stringContaining(`${spool} is a symlink`) });
    expect(await readdir(decoy)).toEqual([name]);
    expect(JSON.stringify(records)).not.toContain("decoy-1");
    // The link itself is set aside (the .path unit would otherwise start deploys for it forever),
    // still pointing where it did; the next look finds no spool at all.
    const [aside] = (await readdir(path.dirname(spool))).filter((n) => n.startsWith("spool.refused-"));
    expect(e).toMatchObject({
      message: expect.stringContaining(`set aside as ${path.dirname(spool)}/${aside}`),
    });
    expect(await readlink(path.join(path.dirname(spool), aside!))).toBe(decoy);
    expect(await consumeRequests(spool, log, trust)).toEqual([]);
    expect(await readdir(decoy)).toEqual([name]);
  });

  it("refuses a symlinked directory on the way down, and a spool that is not a directory", async () => {
    const elsewhere = path.join(dir, "elsewhere");
    await mkdir(path.join(elsewhere, "spool"), { recursive: true });
    await fileRequest(path.join(elsewhere, "spool"), request("decoy-2"));
    await rename(path.join(dir, "private", "state"), path.join(dir, "private", "was"));
    await symlink(elsewhere, path.join(dir, "private", "state"));
    const e = await consumeRequests(spool, captureLogger().log, trust).catch((x: unknown) => x);
    expect(e).toMatchObject({
      message: expect.stringContaining(`${path.join(dir, "private", "state")} is a symlink`),
    });
    expect(await readdir(path.join(elsewhere, "spool"))).toHaveLength(1);
    // root's own directories are never moved: only root could have made that link
    expect((await lstat(path.join(dir, "private", "state"))).isSymbolicLink()).toBe(true);

    await rm(path.join(dir, "private", "state"));
    await mkdir(path.join(dir, "private", "state"), { mode: 0o700 });
    await writeFile(spool, "a file");
    const f = await consumeRequests(spool, captureLogger().log, trust).catch((x: unknown) => x);
    expect(f).toMatchObject({ message: expect.stringContaining(`${spool} is not a directory`) });
  });

  it("refuses a spool others may write, or owned by someone it does not trust", async () => {
    await chmod(spool, 0o777);
    const e = await consumeRequests(spool, captureLogger().log, trust).catch((x: unknown) => x);
    expect(e).toMatchObject({ message: expect.stringContaining("writable by group or others") });
    await rm(spool, { recursive: true, force: true });
    await mkdir(spool, { mode: 0o700 });
    // Someone else's: as root, hand it to another uid; otherwise trust only another uid than ours.
    const stranger = 4242;
    const asRoot = process.geteuid?.() === 0;
    if (asRoot) await chown(spool, stranger, stranger);
    const strict: SpoolTrust = { top: dir, owner: (uid) => uid === (asRoot ? 0 : stranger + 1) };
    const f = await consumeRequests(spool, captureLogger().log, strict).catch((x: unknown) => x);
    expect(f).toMatchObject({ message: expect.stringMatching(/spool is owned by uid \d+/) });
  });

  it("refuses a spool that is not below the trusted top", async () => {
    const e = await consumeRequests("/elsewhere/spool", captureLogger().log, trust).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: "STATE" });
  });
});

describe("describeTrigger", () => {
  it("names the newest delivery and how many more", () => {
    expect(describeTrigger("webhook", [request("d-1")])).toBe("webhook (delivery d-1)");
    expect(describeTrigger("webhook", [request("d-1"), request("d-2"), request("d-3")])).toBe(
      "webhook (delivery d-3, +2 more)",
    );
    expect(describeTrigger("webhook", [request(null)])).toBe("webhook (delivery without id)");
  });

  it("keeps the trigger as is without requests, and adds them to another trigger", () => {
    expect(describeTrigger("webhook", [])).toBe("webhook");
    expect(describeTrigger("timer", [request("d-1")])).toBe("timer (+ webhook delivery d-1)");
  });
});
