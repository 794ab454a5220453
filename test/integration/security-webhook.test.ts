// The webhook listener against the network as attacker, on a real host: a flood of unsigned and
// forged 1 MB uploads plus slowloris connections for 60 s (memory, /healthz, journal), a request
// refused before its body is sent, a signed push that still deploys, and a spool the listener's
// user swapped for a symlink, which the deploy (root) neither reads nor empties.
import { createHash, createHmac } from "node:crypto";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { historyOf, servedVersion, shOk } from "../support/checks.js";
import { writeAgentConfig } from "../../scripts/lab/config.js";
import { createOrigin, pushVersion, type Origin } from "../../scripts/lab/origin.js";
import { AGENT_DIR, TestServer } from "../../scripts/lab/server.js";

const LISTENER = "rf-agent-demo-webhook.service";
const STATE = "/var/lib/private/rf-agent-demo-webhook";
const SPOOL = `${STATE}/spool`;
const FLOOD = path.join(AGENT_DIR, "test", "fixtures", "webhook-flood.mjs");
const FLOOD_SECONDS = 60;
const CONFIG = {
  trigger: { schedule: "*-01-01 04:00" },
  switch: { grace: 1, drain: 5, standby: 0, watch: 2 },
};

interface FloodSummary {
  uploads: { sent: number; statuses: Record<string, number>; noAnswer: number };
  slowloris: {
    connections: number;
    cutByServer: number;
    cutsPerWorker: number[];
    answers: Record<string, number>;
  };
  health: { polls: number; ok: number; failures: unknown[] };
}

let server: TestServer;
let origin: Origin;
let secret: string;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sh = (script: string) => shOk(server, script);
const served = () => servedVersion(server);
const history = () => historyOf(server);

async function unitProps(unit: string, props: string[]): Promise<Record<string, string>> {
  const out = await sh(`systemctl show ${props.map((p) => `-p ${p}`).join(" ")} ${unit}`);
  return Object.fromEntries(
    out.split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

function signedPush(after: string, delivery: string) {
  const body = JSON.stringify({ ref: "refs/heads/main", before: "1".repeat(40), after });
  const sig = "sha256=" + createHmac("sha256", secret).update(body).digest("hex");
  return server.exec(
    "curl",
    [
      ...["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "15"],
      ...["-H", "content-type: application/json", "-H", "x-github-event: push"],
      ...["-H", `x-github-delivery: ${delivery}`, "-H", `x-hub-signature-256: ${sig}`],
      ...["--data-binary", "@-", "http://127.0.0.1:9000/hooks/demo"],
    ],
    { input: body },
  );
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 240_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(1000);
  }
}

/** No deploy unit running and nothing in the spool, twice in a row. */
async function settle(): Promise<void> {
  let quiet = 0;
  await waitFor("deploy units settle", async () => {
    const busy = (
      await server.sh(
        `systemctl is-active rf-agent-demo-deploy@webhook.service rf-agent-demo-deploy@timer.service | grep -qvx inactive && echo busy; ls ${SPOOL}/*.json 2>/dev/null`,
      )
    ).stdout.trim();
    quiet = busy ? 0 : quiet + 1;
    return quiet >= 2;
  });
}

beforeAll(async () => {
  server = await TestServer.up();
  origin = await createOrigin(server);
  await pushVersion(server, origin, "1.0.0");
  await writeAgentConfig(server, CONFIG);
  const deployed = await server.rfAgent(["deploy"]);
  expect(deployed.exitCode, deployed.stderr).toBe(0);
  const installed = await server.rfAgent(["install"]);
  expect(installed.exitCode, installed.stderr).toBe(0);
  secret = (await server.readFile("/etc/rf-agent/webhook.secret")).trim();
});

afterAll(async () => {
  await server?.down();
});

describe("the webhook listener under attack", () => {
  it("answers 401 to a request without a signature header before its body is sent, and closes", async () => {
    // Headers announcing 1 MB, then nothing: the answer must come, and the server must hang up.
    const out = await sh(`exec 3<>/dev/tcp/127.0.0.1/9000
printf 'POST /hooks/demo HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/json\\r\\nX-GitHub-Event: push\\r\\nContent-Length: 1000000\\r\\n\\r\\n' >&3
timeout 10 cat <&3; echo "exit=$?"`);
    expect(out).toMatch(/^HTTP\/1\.1 401 /);
    expect(out).toContain("missing X-Hub-Signature-256");
    // cat ended because the server closed the connection, not because timeout killed it
    expect(out.trim().split("\n").at(-1)).toBe("exit=0");
  });

  it(`stays under MemoryMax with /healthz answering through ${FLOOD_SECONDS} s of 200 1 MB uploads and 50 slowloris connections, logging refusals in aggregate`, async () => {
    const before = await unitProps(LISTENER, ["MainPID", "InvocationID", "NRestarts", "MemoryMax"]);
    const memoryMax = Number(before.MemoryMax);
    expect(memoryMax).toBe(256 * 1024 * 1024);
    const cgroup = (await unitProps(LISTENER, ["ControlGroup"])).ControlGroup;
    const since = (await sh("date +%s")).trim();
    const flood = server.exec(
      "node",
      [
        FLOOD,
        "--port",
        "9000",
        "--seconds",
        String(FLOOD_SECONDS),
        "--uploads",
        "200",
        "--forged",
        "50",
      ].concat(["--slowloris", "50", "--health-every-ms", "500", "--health-timeout-ms", "2000"]),
      { timeoutMs: (FLOOD_SECONDS + 60) * 1000 },
    );
    // The unit's memory, as systemd accounts it (the cgroup: heap, buffers, socket memory).
    const samples: number[] = [];
    let done = false;
    void flood.finally(() => (done = true));
    while (!done) {
      const current = Number((await unitProps(LISTENER, ["MemoryCurrent"])).MemoryCurrent);
      if (Number.isFinite(current)) samples.push(current);
      await sleep(2000);
    }
    const r = await flood;
    expect(r.exitCode, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as FloodSummary;
    const peakFile = await server.sh(`cat /sys/fs/cgroup${cgroup}/memory.peak`);
    const peak = peakFile.exitCode === 0 ? Number(peakFile.stdout.trim()) : Math.max(...samples);
    console.log(
      `flood: ${summary.uploads.sent} uploads ${JSON.stringify(summary.uploads.statuses)} (${summary.uploads.noAnswer} reset before reading the answer), ` +
        `${summary.slowloris.connections} slowloris connections, ${summary.slowloris.cutByServer} cut ${JSON.stringify(summary.slowloris.answers)}, ` +
        `/healthz ${summary.health.ok}/${summary.health.polls}; memory peak ${(peak / 2 ** 20).toFixed(0)} MiB, ` +
        `samples max ${(Math.max(...samples) / 2 ** 20).toFixed(0)} MiB of ${memoryMax / 2 ** 20} MiB`,
    );

    // the flood did happen: thousands of refused uploads, each slowloris connection cut again and again
    expect(summary.uploads.sent).toBeGreaterThan(2000);
    expect(summary.uploads.statuses["401"] ?? 0).toBeGreaterThan(1000);
    expect(Object.keys(summary.uploads.statuses).every((s) => ["401", "408", "503"].includes(s))).toBe(true);
    expect(Math.min(...summary.slowloris.cutsPerWorker)).toBeGreaterThanOrEqual(3);
    // /healthz answered every poll (2 s each at most)
    expect(summary.health.failures).toEqual([]);
    expect(summary.health.polls).toBeGreaterThan(FLOOD_SECONDS);
    // within its memory limit, and never killed or restarted
    expect(samples.length).toBeGreaterThan(5);
    expect(peak).toBeLessThan(memoryMax);
    const after = await unitProps(LISTENER, ["MainPID", "InvocationID", "NRestarts", "ActiveState"]);
    expect(after).toMatchObject({
      MainPID: before.MainPID,
      InvocationID: before.InvocationID,
      NRestarts: before.NRestarts,
      ActiveState: "active",
    });
    // The refusals end up as a handful of lines: the first few, then summaries with counts. Stopping
    // the listener writes the last summary.
    await sh(`systemctl restart ${LISTENER}`);
    const journal = await sh(`journalctl -u ${LISTENER} --since @${since} -o json --no-pager -p warning`);
    // Each entry's record: the RF_JSON field rf-agent writes, or a JSON line on the journal stream.
    const records = journal
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { RF_JSON?: string; MESSAGE?: string })
      .map((e) => JSON.parse(e.RF_JSON ?? e.MESSAGE ?? "{}") as { rejected?: number });
    const refused = Object.values(summary.uploads.statuses).reduce((a, b) => a + b, 0);
    console.log(`journal: ${records.length} warning lines for ${refused} refused uploads`);
    expect(records.length).toBeLessThan(50);
    const counted = records.reduce((n, r) => n + (r.rejected ?? 0), 0);
    expect(counted).toBeGreaterThanOrEqual(refused);
    const suppressed = await server.sh(
      `journalctl --since @${since} -o cat --no-pager | grep -c 'Suppressed.*rf-agent-demo-webhook'`,
    );
    expect(suppressed.stdout.trim()).toBe("0");
  });

  it("deploys a signed push right after the flood", async () => {
    await waitFor(
      "listener answers",
      async () => (await server.curl("http://127.0.0.1:9000/healthz")).status === 200,
    );
    const sha = await pushVersion(server, origin, "2.0.0");
    const r = await signedPush(sha, "after-flood-1");
    expect(r.stdout, r.stderr).toBe("202");
    await waitFor("2.0.0 live", async () => (await served()) === "2.0.0");
    await settle();
    expect((await history()).at(-1)).toMatchObject({
      outcome: "deployed",
      trigger: "webhook (delivery after-flood-1)",
      to: { sha },
    });
  });

  it("neither reads nor deletes what a spool swapped for a symlink points to, and recovers", async () => {
    // A decoy request root would act on if it followed the link: a file only root may touch.
    const decoy = "/srv/decoy";
    const decoyFile = `${decoy}/1700000000000-abcdef123456.json`;
    const request = JSON.stringify({
      delivery: "decoy-1",
      after: "e".repeat(40),
      receivedAt: "2025-01-01T00:00:00.000Z",
      provider: "github",
    });
    await server.writeFile(decoyFile, request + "\n", 0o600);
    const digest = createHash("sha256")
      .update(request + "\n")
      .digest("hex");
    const owner = (await sh(`stat -c %u:%g ${STATE}`)).trim();
    const runs = (await history()).length;
    // As the listener's user would: its own spool replaced by a symlink (played by root, owner set).
    // The .path unit, which follows the link, sees a pending request and starts a deploy.
    await sh(`rm -rf ${SPOOL} && ln -s ${decoy} ${SPOOL} && chown -h ${owner} ${SPOOL}`);
    const unit = await server.exec("systemctl", ["start", "rf-agent-demo-deploy@webhook.service"], {
      timeoutMs: 300_000,
    });
    expect(unit.exitCode, unit.stderr).toBe(0);
    await settle();
    const cli = await server.rfAgent(["deploy"], { timeoutMs: 300_000 });
    expect(cli.exitCode, cli.stderr).toBe(0);

    const since = (await history()).slice(runs);
    expect(since[0]).toMatchObject({
      trigger: "webhook (webhook spool refused)",
      outcome: "unchanged",
      exitCode: 0,
    });
    // the link was set aside at once, so no deploy loop: the rest are at most the .path unit's own
    // start (finding nothing) and the CLI's run
    expect(since.length).toBeLessThanOrEqual(3);
    expect(since.slice(1).every((r) => r.outcome === "unchanged" && !r.trigger.includes("refused"))).toBe(
      true,
    );
    expect(JSON.stringify(await history())).not.toContain("decoy-1");
    const errors = await sh(
      "journalctl -u rf-agent-demo-deploy@webhook.service -p err -o cat --no-pager | tail -n 20",
    );
    expect(errors).toContain(`${SPOOL} is a symlink`);
    // the decoy is where it was, as it was; the link is kept aside for whoever looks into it
    expect((await sh(`sha256sum ${decoyFile}`)).split(" ")[0]).toBe(digest);
    expect((await sh(`ls ${decoy}`)).trim()).toBe(path.basename(decoyFile));
    expect((await sh(`readlink ${STATE}/spool.refused-*`)).trim()).toBe(decoy);
    expect(await served()).toBe("2.0.0");

    // The listener makes a new spool with its next request, and the push deploys.
    const sha = await pushVersion(server, origin, "3.0.0");
    const r = await signedPush(sha, "after-spool-1");
    expect(r.stdout, r.stderr).toBe("202");
    await waitFor("3.0.0 live", async () => (await served()) === "3.0.0");
    await settle();
    expect((await history()).at(-1)).toMatchObject({
      outcome: "deployed",
      trigger: "webhook (delivery after-spool-1)",
    });
    expect(await sh(`stat -c %F:%u:%g:%a ${SPOOL}`)).toBe(`directory:${owner}:700`);
  });

  it("keeps the listener unit's exposure at or below 2.5", async () => {
    const r = await server.exec("systemd-analyze", [
      "security",
      "--offline=yes",
      `/etc/systemd/system/${LISTENER}`,
    ]);
    const m = /Overall exposure level for .*: ([\d.]+)/.exec(r.stdout);
    expect(m, r.stdout + r.stderr).not.toBeNull();
    expect(Number(m![1])).toBeLessThanOrEqual(2.5);
  });
});
