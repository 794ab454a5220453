// The disposable server every integration test runs on: isolated from the host and from its twin, and
// gone without a trace after down().
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  hostListeningInodes,
  isRunning,
  namespaceOf,
  pidsInNamespace,
  serverCgroupDirs,
  serverProcesses,
  socketInodes,
} from "../../scripts/lab/host.js";
import { AGENT_DIR, REPO_ROOT, TestServer } from "../../scripts/lab/server.js";

describe("disposable server", () => {
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    [a, b] = await Promise.all([TestServer.up(), TestServer.up()]);
  });

  afterAll(async () => {
    await Promise.all([a?.down(), b?.down()]);
  });

  it("boots with its own systemd as PID 1", async () => {
    expect((await a.exec("systemctl", ["is-system-running"])).stdout).toMatch(/^(running|degraded)$/);
    expect((await a.readFile("/proc/1/comm")).trim()).toBe("systemd");
    expect((await a.exec("hostname")).stdout).toBe(a.name);
    expect(namespaceOf(a.pid, "pid")).not.toBe(namespaceOf("self", "pid"));
  });

  it("serves nginx on port 80 inside without binding the host's port 80", async () => {
    const page = await a.curl("/");
    expect(page.status).toBe(200);
    expect(page.body).toContain("nginx");
    expect((await a.exec("ss", ["-Hltn", "sport = :80"])).stdout).toMatch(/LISTEN/);

    expect(namespaceOf(a.pid, "net")).not.toBe(namespaceOf("self", "net"));
    const hostPort80 = hostListeningInodes(80);
    for (const p of serverProcesses(a)) {
      for (const inode of socketInodes(p.pid))
        expect(hostPort80.has(inode), `${p.comm} ${p.pid}`).toBe(false);
    }
  });

  it("runs two servers at once, each with its own port 80, files and processes", async () => {
    const [pageA, pageB] = await Promise.all([a.curl("/"), b.curl("/")]);
    expect([pageA.status, pageB.status]).toEqual([200, 200]);
    expect(namespaceOf(a.pid, "net")).not.toBe(namespaceOf(b.pid, "net"));

    const marker = `/etc/rf-server-test-${process.pid}`;
    await a.writeFile(marker, "a\n");
    expect(await a.readFile(marker)).toBe("a\n");
    expect((await b.exec("test", ["-e", marker])).exitCode).toBe(1);
    expect(existsSync(marker)).toBe(false);

    const pidsA = new Set(serverProcesses(a).map((p) => p.pid));
    expect(serverProcesses(b).filter((p) => pidsA.has(p.pid))).toEqual([]);
  });

  it("sees the bind-mounted repo live, at the same path", async () => {
    const file = path.join(REPO_ROOT, `.server-test-${process.pid}.tmp`);
    try {
      writeFileSync(file, "written on the host after boot\n");
      expect(await a.readFile(file)).toBe("written on the host after boot\n");
      writeFileSync(file, "and changed\n");
      expect(await a.readFile(file)).toBe("and changed\n");
    } finally {
      rmSync(file, { force: true });
    }
    expect(await a.readFile(path.join(REPO_ROOT, "package.json"))).toBe(
      readFileSync(path.join(REPO_ROOT, "package.json"), "utf8"),
    );
    // rf-agent is installed from the same tree, seen at /opt/rf-agent (outside /tmp and /home)
    const link = await a.exec("readlink", ["/usr/local/bin/rf-agent"]);
    expect(link.stdout).toBe(path.join(AGENT_DIR, "dist", "cli.js"));
    expect(await a.readFile(path.join(AGENT_DIR, "package.json"))).toBe(
      readFileSync(path.join(REPO_ROOT, "package.json"), "utf8"),
    );
  });

  it("runs commands inside with a clean environment, input, cwd and a timeout", async () => {
    const r = await a.sh('echo "$PWD $HOME $FOO"; cat', { input: "in\n", env: { FOO: "bar" }, cwd: "/etc" });
    expect(r).toEqual({ exitCode: 0, stdout: "/etc /root bar\nin", stderr: "" });
    expect((await a.sh("exit 7")).exitCode).toBe(7);
    await expect(a.exec("false", [], { reject: true })).rejects.toThrow(/false exited 1/);

    const started = Date.now();
    expect((await a.exec("sleep", ["30"], { timeoutMs: 500 })).exitCode).toBe(143);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await a.exec("pgrep", ["-x", "sleep"])).stdout).toBe("");
  });

  it("passes SIGTERM on to a spawned command and reports its own exit status", async () => {
    const script = 'trap "echo stopping; exit 3" TERM; echo started; while :; do sleep 0.1; done';
    const child = a.spawn("bash", ["-c", script]);
    await new Promise((resolve) => child.stdout.once("data", resolve));
    child.kill("SIGTERM");
    const r = await child;
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toBe("started\nstopping");
  });

  it("leaves nothing behind on the host after down", async () => {
    const c = await TestServer.up();
    const background = c.spawn("sleep", ["600"]);
    await waitFor(async () => (await c.exec("pgrep", ["-x", "sleep"])).exitCode === 0);

    const pidNs = namespaceOf(c.pid, "pid");
    const before = serverProcesses(c);
    const comms = before.map((p) => p.comm);
    expect(comms).toEqual(expect.arrayContaining(["systemd", "nginx", "sleep", "unshare"]));
    expect(serverCgroupDirs(c.name)).not.toEqual([]);
    expect(existsSync(c.stateDir)).toBe(true);

    await c.down();
    await background;

    expect(before.filter(isRunning)).toEqual([]);
    expect(pidsInNamespace(pidNs ?? "none")).toEqual([]);
    const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n");
    expect(mounts.filter((line) => line.includes(c.stateDir))).toEqual([]);
    expect(existsSync(c.stateDir)).toBe(false);
    expect(serverCgroupDirs(c.name)).toEqual([]);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
