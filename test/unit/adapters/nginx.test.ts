import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { askLive, confirmLive, nginxMaster, reload, testConfig } from "../../../src/adapters/nginx.js";
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

/** A pid file and a /proc of our own: pid's cmdline and cgroup say what the test wants. */
async function fakeProc(pid: number, cmdline: string, cgroup: string) {
  const dir = await mkdtemp(path.join(os.tmpdir(), "rf-nginx-"));
  await mkdir(path.join(dir, "proc", String(pid)), { recursive: true });
  await writeFile(path.join(dir, "proc", String(pid), "cmdline"), cmdline);
  await writeFile(path.join(dir, "proc", String(pid), "cgroup"), cgroup);
  await writeFile(path.join(dir, "nginx.pid"), `${pid}\n`);
  return { pidFile: path.join(dir, "nginx.pid"), proc: path.join(dir, "proc") };
}
const MASTER = "nginx: master process /usr/sbin/nginx -g daemon on; master_process on;\0";

describe("nginxMaster", () => {
  it("trusts the pid file only for an nginx master inside nginx.service", async () => {
    const v2 = await fakeProc(4242, MASTER, "0::/system.slice/nginx.service\n");
    expect(await nginxMaster(v2.pidFile, v2.proc)).toBe(4242);
    const v1 = await fakeProc(4243, MASTER, "1:name=systemd:/system.slice/nginx.service\n0::/\n");
    expect(await nginxMaster(v1.pidFile, v1.proc)).toBe(4243);
    // A stale file whose number another process took since, a worker, another unit: not signalled.
    const other = await fakeProc(4244, "sleep\x0030\0", "0::/system.slice/nginx.service\n");
    expect(await nginxMaster(other.pidFile, other.proc)).toBeNull();
    const worker = await fakeProc(4245, "nginx: worker process\0", "0::/system.slice/nginx.service\n");
    expect(await nginxMaster(worker.pidFile, worker.proc)).toBeNull();
    const elsewhere = await fakeProc(4246, MASTER, "0::/system.slice/other-nginx.service\n");
    expect(await nginxMaster(elsewhere.pidFile, elsewhere.proc)).toBeNull();
    expect(await nginxMaster("/nonexistent/nginx.pid", v2.proc)).toBeNull();
  });
});

describe("reload", () => {
  const HUP = "systemctl kill --kill-whom=main --signal=HUP nginx.service";
  const calls = (run: ReturnType<typeof fakeRunner>) => run.calls.map((c) => [c.file, ...c.args].join(" "));
  const noPidFile = "/nonexistent/nginx.pid";

  it("sends SIGHUP itself to the master the pid file names, without systemctl", async () => {
    const child = spawn("sleep", ["30"]);
    const ended = new Promise<string | null>((resolve) => child.on("exit", (_, signal) => resolve(signal)));
    const fake = await fakeProc(child.pid!, MASTER, "0::/system.slice/nginx.service\n");
    const run = fakeRunner();
    await reload(run, fake.pidFile, fake.proc);
    expect(await ended).toBe("SIGHUP");
    expect(calls(run)).toEqual([]);
  });

  it("signals a running nginx's master through systemd when its pid file cannot be trusted", async () => {
    const run = fakeRunner();
    await reload(run, noPidFile);
    expect(calls(run)).toEqual([HUP]);
  });

  it("falls back to systemctl reload when the signal cannot be sent to a running nginx", async () => {
    const run = fakeRunner((_, args) => ({ exitCode: args[0] === "kill" ? 1 : 0 }));
    await reload(run, noPidFile);
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
    await reload(run, noPidFile);
    expect(calls(run)).toEqual([
      HUP,
      "systemctl is-active --quiet nginx.service",
      "systemctl enable --now nginx.service",
    ]);
  });
});
