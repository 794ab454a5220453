import { describe, expect, it } from "vitest";
import { askLive, confirmLive, reload, testConfig } from "../../../src/adapters/nginx.js";
import { RfError } from "../../../src/errors.js";
import { sha } from "../helpers/config.js";
import { fakeGet, fakeRunner, ok, scriptedGet, status } from "../helpers/fakes.js";

const live = (color: string, commit: string) =>
  ok(JSON.stringify({ app: "demo", color, sha: commit }) + "\n");

describe("askLive", () => {
  it("asks nginx's loopback location with the Host of our server block", async () => {
    const get = scriptedGet([live("green", sha("a"))]);
    expect(await askLive(get, 8080, "example.com")).toEqual({ color: "green", sha: sha("a") });
    expect(get.calls).toEqual([
      { url: "http://127.0.0.1:8080/__rf-agent/live", opts: { host: "example.com", timeoutMs: 2000 } },
    ]);
  });

  it.each([
    ["a non-200 status", status(404, '{"color":"blue","sha":"x"}')],
    ["no answer", status(0, "ECONNREFUSED")],
    ["a body that is not JSON", ok("<html>welcome to nginx</html>")],
    ["a body without color", ok(JSON.stringify({ sha: sha("a") }))],
    ["a body whose sha is no string", ok(JSON.stringify({ color: "blue", sha: 1 }))],
  ])("gives null for %s", async (_, answer) => {
    expect(await askLive(scriptedGet([answer]), 80, "localhost")).toBeNull();
  });
});

/** Time that moves only when the code under test sleeps. */
const fakeClock = () => {
  let t = 0;
  return { now: () => t, sleep: async (ms: number) => void (t += ms) };
};

describe("confirmLive", () => {
  it("polls until nginx serves the wanted color and commit", async () => {
    const get = scriptedGet([
      status(0, "refused"),
      live("blue", sha("a")),
      live("green", sha("a")),
      live("green", sha("b")),
    ]);
    await confirmLive(get, 80, "localhost", { color: "green", sha: sha("b") }, fakeClock(), 5000);
    expect(get.calls).toHaveLength(4);
  });

  it("fails with SWITCH naming what nginx last answered", async () => {
    const get = scriptedGet([live("blue", sha("c"))]);
    const e = await confirmLive(
      get,
      80,
      "localhost",
      { color: "green", sha: sha("d") },
      fakeClock(),
      250,
    ).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RfError);
    expect(e).toMatchObject({
      code: "SWITCH",
      message: `nginx did not start serving green ${sha("d").slice(0, 12)}`,
      details: `nginx last answered: blue ${sha("c").slice(0, 12)}`,
    });
    expect(get.calls.length).toBeGreaterThanOrEqual(2);
  });

  it("says nginx answered nothing when the getter throws", async () => {
    const get = fakeGet(() => {
      throw new Error("boom");
    });
    await expect(
      confirmLive(get, 80, "localhost", { color: "blue", sha: sha("e") }, fakeClock(), 150),
    ).rejects.toMatchObject({
      details: "nginx last answered: nothing",
    });
  });
});

describe("testConfig", () => {
  it("runs nginx -t -q and passes its output on", async () => {
    const run = fakeRunner(() => ({ exitCode: 1, stderr: 'nginx: [emerg] unknown directive "lisen"' }));
    expect(await testConfig(run)).toEqual({ ok: false, output: 'nginx: [emerg] unknown directive "lisen"' });
    expect(run.calls).toEqual([{ file: "nginx", args: ["-t", "-q"], options: { reject: false } }]);
  });

  it("is ok on exit status 0", async () => {
    expect((await testConfig(fakeRunner())).ok).toBe(true);
  });
});

describe("reload", () => {
  const HUP = "systemctl kill --kill-whom=main --signal=HUP nginx.service";
  const calls = (run: ReturnType<typeof fakeRunner>) => run.calls.map((c) => [c.file, ...c.args].join(" "));

  it("signals a running nginx's master to reload, and nothing else", async () => {
    const run = fakeRunner();
    await reload(run);
    expect(calls(run)).toEqual([HUP]);
  });

  it("falls back to systemctl reload when the signal cannot be sent to a running nginx", async () => {
    const run = fakeRunner((_, args) => ({ exitCode: args[0] === "kill" ? 1 : 0 }));
    await reload(run);
    expect(calls(run)).toEqual([
      HUP,
      "systemctl is-active --quiet nginx.service",
      "systemctl reload nginx.service",
    ]);
    expect(run.calls[2]!.options?.code).toBe("NGINX");
  });

  it("enables and starts an nginx that is not running", async () => {
    const run = fakeRunner((_, args) => ({
      exitCode: args[0] === "is-active" || args[0] === "kill" ? 3 : 0,
    }));
    await reload(run);
    expect(calls(run)).toEqual([
      HUP,
      "systemctl is-active --quiet nginx.service",
      "systemctl enable --now nginx.service",
    ]);
  });
});
