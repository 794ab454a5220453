// Triggers on a real host: `rf-agent install`, signed GitHub pushes through the webhook listener and
// its .path unit, the timer's deploy service, the lock between them, and the journal.
import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { historyOf, servedVersion, shOk } from "../support/checks.js";
import { writeAgentConfig } from "../../scripts/lab/config.js";
import { createOrigin, pushVersion, type Origin } from "../../scripts/lab/origin.js";
import { TestServer } from "../../scripts/lab/server.js";

const UNITS = [
  "rf-agent-demo-deploy@.service",
  "rf-agent-demo-deploy.timer",
  "rf-agent-demo-deploy.path",
  "rf-agent-demo-webhook.service",
];
const SPOOL = "/var/lib/private/rf-agent-demo-webhook/spool";
// A schedule that does not fire during the tests (they start the timer's service themselves), so
// no unplanned run lands in the middle of a burst.
const CONFIG = {
  trigger: { schedule: "*-01-01 04:00" },
  switch: { grace: 1, drain: 5, standby: 0, watch: 2 },
};

let server: TestServer;
let origin: Origin;
let secret: string;
let pushedSha = "";
let pushedDelivery = "";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sh = (script: string) => shOk(server, script);
const served = () => servedVersion(server);
const history = () => historyOf(server);

interface HookResult {
  status: number;
  body: string;
  seconds: number;
}

/** A request straight to the listener (as nginx would forward it), from inside the server. */
async function hook(
  body: string,
  headers: Record<string, string>,
  path = "/hooks/demo",
): Promise<HookResult> {
  const args = ["-sS", "-o", "-", "-w", "\n%{http_code} %{time_total}", "--max-time", "15", "-X", "POST"];
  for (const [k, v] of Object.entries({ "content-type": "application/json", ...headers }))
    args.push("-H", `${k}: ${v}`);
  args.push("--data-binary", "@-", `http://127.0.0.1:9000${path}`);
  const r = await server.exec("curl", args, { input: body });
  const cut = r.stdout.lastIndexOf("\n");
  const [status, seconds] = r.stdout.slice(cut + 1).split(" ");
  return { status: Number(status), body: r.stdout.slice(0, cut), seconds: Number(seconds) };
}

function sign(body: string, key = secret): string {
  return "sha256=" + createHmac("sha256", key).update(body).digest("hex");
}

function pushPayload(after: string, ref = "refs/heads/main"): string {
  return JSON.stringify({ ref, before: "0".repeat(39) + "1", after, repository: { full_name: "demo/app" } });
}

function signedPush(after: string, delivery: string, ref?: string): Promise<HookResult> {
  const body = pushPayload(after, ref);
  return hook(body, {
    "x-github-event": "push",
    "x-github-delivery": delivery,
    "x-hub-signature-256": sign(body),
  });
}

async function unitState(unit: string): Promise<string> {
  return (await server.exec("systemctl", ["is-active", unit])).stdout.trim();
}

/** Until no deploy unit runs and no request is pending, for two looks in a row. */
async function settle(timeoutMs = 240_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let quiet = 0;
  while (quiet < 2) {
    if (Date.now() > until) throw new Error("deploy units did not settle");
    const busy =
      ["activating", "active", "deactivating"].includes(
        await unitState("rf-agent-demo-deploy@webhook.service"),
      ) ||
      ["activating", "active", "deactivating"].includes(
        await unitState("rf-agent-demo-deploy@timer.service"),
      ) ||
      (await server.sh(`ls ${SPOOL}/*.json 2>/dev/null | wc -l`)).stdout.trim() !== "0";
    quiet = busy ? 0 : quiet + 1;
    await sleep(1000);
  }
}

async function waitServed(version: string, timeoutMs = 240_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while ((await served()) !== version) {
    if (Date.now() > until) throw new Error(`${version} never went live`);
    await sleep(1000);
  }
}

beforeAll(async () => {
  server = await TestServer.up();
  origin = await createOrigin(server);
  await pushVersion(server, origin, "1.0.0");
  await writeAgentConfig(server, CONFIG);
  const r = await server.rfAgent(["deploy"]);
  expect(r.exitCode, r.stderr).toBe(0);
});

afterAll(async () => {
  await server?.down();
});

describe("rf-agent install", () => {
  it("refuses a schedule systemd does not accept, exit 2 naming the key, writing nothing", async () => {
    const before = await sh("find /etc/systemd/system /etc/rf-agent | sort");
    await writeAgentConfig(server, { ...CONFIG, trigger: { schedule: "every tuesday" } });
    const r = await server.rfAgent(["install"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('[trigger] schedule: "every tuesday" is not an OnCalendar expression');
    expect(await sh("find /etc/systemd/system /etc/rf-agent | sort")).toBe(before);
    await writeAgentConfig(server, CONFIG);
  });

  it("installs units that systemd verifies, starts them, and runs the listener unprivileged", async () => {
    const r = await server.rfAgent(["install"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain("secret:   /etc/rf-agent/webhook.secret (generated now");
    const verify = await server.sh(
      "cd /etc/systemd/system && systemd-analyze verify rf-agent-demo-deploy@timer.service rf-agent-demo-deploy@webhook.service rf-agent-demo-deploy.timer rf-agent-demo-deploy.path rf-agent-demo-webhook.service",
    );
    expect(verify.exitCode, verify.stderr).toBe(0);
    expect(verify.stderr.trim()).toBe("");
    // the timer is armed with the configured calendar, and runs the timer instance
    const timer = await sh(
      "systemctl show rf-agent-demo-deploy.timer -p ActiveState -p Unit -p TimersCalendar",
    );
    expect(timer).toContain("ActiveState=active");
    expect(timer).toContain("Unit=rf-agent-demo-deploy@timer.service");
    expect(timer).toContain("OnCalendar=*-01-01 04:00:00");
    expect(await unitState("rf-agent-demo-deploy.path")).toBe("active");
    // a throwaway user, reading root-only files through credentials
    const user = await sh(
      "ps -o user= -p $(systemctl show -p MainPID --value rf-agent-demo-webhook.service)",
    );
    expect(user.trim()).toBe("rf-agent-demo-webhook");
    expect((await sh("stat -c %a /etc/rf-agent/webhook.secret /etc/rf-agent/agent.ini")).split("\n")).toEqual(
      ["600", "600"],
    );
    const health = await server.exec("curl", ["-sS", "http://127.0.0.1:9000/healthz"]);
    expect(health.stdout).toContain('"ok":true');
    secret = (await server.readFile("/etc/rf-agent/webhook.secret")).trim();
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
  });

  it("changes nothing the second time: same files, listener not restarted", async () => {
    const snapshot = () =>
      sh(
        `stat -c '%n %Y %s' ${UNITS.map((u) => `/etc/systemd/system/${u}`).join(" ")}; systemctl show -p MainPID -p InvocationID rf-agent-demo-webhook.service`,
      );
    const before = await snapshot();
    await sleep(1100); // a rewrite would show in the mtimes
    const r = await server.rfAgent(["install"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain("nothing to change");
    expect(r.stdout).not.toContain("generated now");
    expect(await snapshot()).toBe(before);
  });
});

describe("the webhook", () => {
  it("deploys the commit of a signed GitHub push, answering at once", async () => {
    pushedSha = await pushVersion(server, origin, "2.0.0");
    pushedDelivery = "5f1c2a00-0000-4000-8000-000000000001";
    const r = await signedPush(pushedSha, pushedDelivery);
    const answeredAt = Date.now();
    expect(r.status, r.body).toBe(202);
    expect(JSON.parse(r.body)).toEqual({ deploy: "requested", delivery: pushedDelivery, after: pushedSha });
    await waitServed("2.0.0");
    await settle();
    const last = (await history()).at(-1)!;
    // "at once": the answer came before the deploy it asked for had finished, not after it
    expect(answeredAt).toBeLessThan(Date.parse(last.startedAt) + last.ms);
    expect(last).toMatchObject({
      command: "deploy",
      outcome: "deployed",
      trigger: `webhook (delivery ${pushedDelivery})`,
    });
    expect(last.to?.sha).toBe(pushedSha);
  });

  it("deploys nothing for a bad signature, a replay, another branch, a deletion, oversize or malformed bodies", async () => {
    const runs = (await history()).length;
    const invocation = await sh(
      "systemctl show -p InvocationID --value rf-agent-demo-deploy@webhook.service",
    );
    // a new commit waits on the branch: any deploy would change what is served
    const v3 = await pushVersion(server, origin, "3.0.0");
    const body = pushPayload(v3);
    const cases: [string, Promise<HookResult>, number][] = [
      [
        "bad signature",
        hook(body, {
          "x-github-event": "push",
          "x-github-delivery": "bad-1",
          "x-hub-signature-256": sign(body, "0".repeat(64)),
        }),
        401,
      ],
      ["no signature", hook(body, { "x-github-event": "push", "x-github-delivery": "bad-2" }), 401],
      ["replayed delivery", signedPush(pushedSha, pushedDelivery), 202],
      [
        "same body, new id",
        hook(pushPayload(pushedSha), {
          "x-github-event": "push",
          "x-github-delivery": "new-id",
          "x-hub-signature-256": sign(pushPayload(pushedSha)),
        }),
        202,
      ],
      ["another branch", signedPush(v3, "other-1", "refs/heads/feature"), 202],
      ["branch deletion", signedPush("0".repeat(40), "del-1"), 202],
      [
        "not a push",
        hook(body, {
          "x-github-event": "issues",
          "x-github-delivery": "iss-1",
          "x-hub-signature-256": sign(body),
        }),
        202,
      ],
      [
        "malformed JSON",
        hook("{not json", {
          "x-github-event": "push",
          "x-github-delivery": "bad-3",
          "x-hub-signature-256": sign("{not json"),
        }),
        400,
      ],
      [
        "unknown app",
        hook(body, { "x-github-event": "push", "x-hub-signature-256": sign(body) }, "/hooks/other"),
        404,
      ],
    ];
    for (const [what, answer, status] of cases) {
      const a = await answer;
      expect(a.status, `${what}: ${a.body}`).toBe(status);
      if (status === 202) expect(JSON.parse(a.body), what).toHaveProperty("ignored");
    }
    // 2 MB, signed correctly: refused at 1 MB without reading the rest
    const big = pushPayload(v3).replace("}", `,"pad":"${"x".repeat(2 * 1024 * 1024)}"}`);
    const oversize = await hook(big, {
      "x-github-event": "push",
      "x-github-delivery": "big-1",
      "x-hub-signature-256": sign(big),
    });
    expect(oversize.status, oversize.body).toBe(413);
    const get = await server.exec("curl", [
      "-sS",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "http://127.0.0.1:9000/hooks/demo",
    ]);
    expect(get.stdout).toBe("405");

    await sleep(3000);
    expect(await sh(`ls -A ${SPOOL}`)).toBe("");
    expect(await sh("systemctl show -p InvocationID --value rf-agent-demo-deploy@webhook.service")).toBe(
      invocation,
    );
    expect((await history()).length).toBe(runs);
    expect(await served()).toBe("2.0.0");
    // the listener logged the refusals without the secret
    const journal = await sh("journalctl -u rf-agent-demo-webhook.service -o cat --no-pager");
    expect(journal).toContain("status=401");
    expect(journal).not.toContain(secret);
  });

  it("turns ten pushes made while a deploy runs into at most two deploys, ending on the newest commit", async () => {
    const runs = (await history()).length;
    // Ten commits, made first; then the branch moves to each in turn (a push: update-ref in the bare
    // repo, a few ms) and its delivery goes out at once, as GitHub would send them.
    const script = `set -euo pipefail
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t.invalid GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t.invalid
cd ${origin.work}
key=$(tr -d '\\n' </etc/rf-agent/webhook.secret)
shas=() bodies=() sigs=()
for i in $(seq 1 10); do
  echo "4.0.$i" >VERSION
  git commit -qam "burst $i"
  sha=$(git rev-parse HEAD)
  body="{\\"ref\\":\\"refs/heads/main\\",\\"after\\":\\"$sha\\"}"
  shas+=("$sha") bodies+=("$body")
  sigs+=("$(printf %s "$body" | openssl dgst -sha256 -hmac "$key" | sed 's/^.* //')")
done
git push -q origin HEAD:refs/rf-test/burst
chmod -R a+rX ${origin.bare}
start=$(date +%s%N)
for i in $(seq 1 10); do
  git -C ${origin.bare} update-ref refs/heads/main "\${shas[$((i - 1))]}"
  curl -sS -o /dev/null -w '%{http_code}\\n' -H 'content-type: application/json' -H 'x-github-event: push' \\
    -H "x-github-delivery: burst-$i" -H "x-hub-signature-256: sha256=\${sigs[$((i - 1))]}" \\
    --data-binary "\${bodies[$((i - 1))]}" http://127.0.0.1:9000/hooks/demo &
done
wait
end=$(date +%s%N)
echo "elapsed_ms $(( (end - start) / 1000000 ))"
echo "answered_at_ms $(( end / 1000000 ))"
git -C ${origin.bare} update-ref -d refs/rf-test/burst`;
    const out = await sh(script);
    const codes = out.split("\n").filter((l) => /^\d{3}$/.test(l));
    expect(codes).toEqual(Array(10).fill("202"));
    const elapsedMs = Number(/elapsed_ms (\d+)/.exec(out)?.[1]);
    const answeredAt = Number(/answered_at_ms (\d+)/.exec(out)?.[1]);
    await settle();
    expect(await served()).toBe("4.0.10");
    const burst = (await history()).slice(runs);
    expect(burst.length).toBeGreaterThanOrEqual(1);
    // What makes it a burst is order, not speed: every push was made and answered before the first
    // deploy it started had finished (the server and this runner share one clock).
    const firstEnd = Date.parse(burst[0]!.startedAt) + burst[0]!.ms;
    expect(answeredAt, "the burst outlasted the first deploy; nothing here tests coalescing").toBeLessThan(
      firstEnd,
    );
    expect(burst.length).toBeLessThanOrEqual(2);
    expect(burst.every((r) => r.trigger.startsWith("webhook (delivery burst-"))).toBe(true);
    // every delivery was served by one of them: newest named, the others counted
    const requests = burst.reduce((n, r) => n + 1 + Number(/\+(\d+) more/.exec(r.trigger)?.[1] ?? 0), 0);
    expect(requests).toBe(10);
    console.log(
      `burst of 10 pushes in ${elapsedMs} ms: ${burst.map((r) => `${r.outcome} (${r.trigger}, ${(r.ms / 1000).toFixed(1)} s)`).join("; ")}`,
    );
  });
});

describe("the timer's deploy service", () => {
  it("deploys a new commit, and is a fast no-op when nothing changed", async () => {
    // a webhook run left by an earlier test would take this push too, and name itself
    await settle();
    await pushVersion(server, origin, "5.0.0");
    const deployed = await server.exec("systemctl", ["start", "rf-agent-demo-deploy@timer.service"], {
      timeoutMs: 300_000,
    });
    expect(deployed.exitCode, deployed.stderr).toBe(0);
    expect(await served()).toBe("5.0.0");
    const run = (await history()).at(-1)!;
    expect(run).toMatchObject({ trigger: "timer", outcome: "deployed" });
    // journalctl -u shows readable lines, not JSON, and the structure is in fields of their own
    const lines = (
      await sh("journalctl -u rf-agent-demo-deploy@timer.service -o cat --no-pager -n 200")
    ).split("\n");
    expect(lines.filter((l) => l.startsWith("{"))).toEqual([]);
    // journalctl RF_DEPLOY=<id> is exactly that run's lines: all of them, no other run's
    const entries = (await sh(`journalctl RF_DEPLOY=${run.id} -o json --no-pager`))
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, string>);
    expect(entries.length).toBeGreaterThan(5);
    const invocations = new Set(entries.map((e) => e._SYSTEMD_INVOCATION_ID));
    expect(invocations.size).toBe(1);
    const native = (await sh(`journalctl _SYSTEMD_INVOCATION_ID=${[...invocations][0]} -o json --no-pager`))
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, string>)
      .filter((e) => e.RF_JSON !== undefined);
    expect(native.map((e) => e.MESSAGE)).toEqual(entries.map((e) => e.MESSAGE));
    expect(entries.map((e) => e.RF_STEP).filter(Boolean)).toEqual(
      expect.arrayContaining(["fetch", "health", "switch nginx"]),
    );
    // each readable line is its entry's MESSAGE, e.g. the one of the finished fetch step
    const fetched = entries.find((e) => e.RF_STEP === "fetch" && e.RF_MS !== undefined);
    expect(fetched, "a journal entry of the finished fetch step").toBeDefined();
    expect(lines).toContain(fetched!.MESSAGE);
    // one key each in every record: writing it again after parsing changes nothing
    for (const e of entries) expect(JSON.stringify(JSON.parse(e.RF_JSON!))).toBe(e.RF_JSON);

    const serviceRuns = () =>
      sh("systemctl show -p InvocationID --value demo-api@*.service demo-ui@*.service");
    const running = await serviceRuns();
    const t0 = Date.now();
    const noop = await server.exec("systemctl", ["start", "rf-agent-demo-deploy@timer.service"]);
    const wall = Date.now() - t0;
    expect(noop.exitCode, noop.stderr).toBe(0);
    const last = (await history()).at(-1)!;
    expect(last).toMatchObject({ trigger: "timer", outcome: "unchanged" });
    // fast because it does nothing past the fetch that reads the tip: nothing checked out,
    // installed, started or switched, and no service restarted
    const releaseSteps = ["checkout", "pip install", "start", "health", "switch nginx"];
    expect(last.steps.map((st) => st.step).filter((n) => releaseSteps.includes(n))).toEqual([]);
    expect(await serviceRuns()).toBe(running);
    expect(await served()).toBe("5.0.0");
    console.log(`timer no-op: ${last.ms} ms in the run, ${wall} ms for systemctl start`);
  });

  it("waits for a deploy that is already running instead of interleaving with it", async () => {
    await pushVersion(server, origin, "5.1.0");
    const cli = server.spawn("rf-agent", ["deploy", "--config", "/etc/rf-agent/agent.ini"]);
    let held = false;
    for (let i = 0; i < 100 && !held; i++) {
      held = (await server.sh("test -s /run/rf-agent/demo.lock.holder")).exitCode === 0;
      if (!held) await sleep(100);
    }
    expect(held).toBe(true);
    await sh("systemctl start --no-block rf-agent-demo-deploy@timer.service");
    await sleep(1500);
    expect(await unitState("rf-agent-demo-deploy@timer.service")).toBe("activating");
    const done = await cli;
    expect(done.exitCode, String(done.stderr)).toBe(0);
    await settle();
    expect(await served()).toBe("5.1.0");
    const [first, second] = (await history()).slice(-2);
    expect(first).toMatchObject({ trigger: expect.stringMatching(/^cli/), outcome: "deployed" });
    expect(second).toMatchObject({ trigger: "timer", outcome: "unchanged" });
    // the timer's run started only once the other had finished
    expect(Date.parse(second!.startedAt)).toBeGreaterThanOrEqual(Date.parse(first!.startedAt) + first!.ms);
    expect(await sh("systemctl show -p Result --value rf-agent-demo-deploy@timer.service")).toBe("success");
  });
});

describe("the journal", () => {
  it("shows a failed deploy's cause with journalctl -p warning, and all of it with rf-agent logs --last", async () => {
    await pushVersion(server, origin, "6.0.0-broken", { fault: "never-healthy" });
    await writeAgentConfig(server, { ...CONFIG, health: { timeout: 6 } });
    const failed = await server.exec("systemctl", ["start", "rf-agent-demo-deploy@timer.service"], {
      timeoutMs: 300_000,
    });
    expect(failed.exitCode).not.toBe(0);
    expect(await sh("systemctl show -p Result --value rf-agent-demo-deploy@timer.service")).toBe("exit-code");
    const warnings = await sh(
      "journalctl -u rf-agent-demo-deploy@timer.service -p warning -o cat --no-pager",
    );
    expect(warnings).toMatch(/never became healthy/);
    expect(warnings).toContain("fix:");
    expect(await served()).toBe("5.1.0");

    const last = (await history()).at(-1)!;
    expect(last).toMatchObject({ trigger: "timer", outcome: "failed" });
    const logs = await server.rfAgent(["logs", "--last"]);
    expect(logs.exitCode, logs.stderr).toBe(0);
    const lines = logs.stdout.split("\n");
    expect(lines[0]).toMatch(/rf-agent deploy \(timer\)/);
    // it shows the run's failed health step and its error, as the journal has them
    const run = (await sh(`journalctl RF_DEPLOY=${last.id} -o json --no-pager`))
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, string>);
    const healthFailed = run.find(
      (e) => e.RF_STEP === "health" && e.RF_MS !== undefined && e.PRIORITY === "3",
    );
    expect(healthFailed, "a journal entry of the failed health step").toBeDefined();
    expect(logs.stdout).toContain(healthFailed!.MESSAGE);
    // the error the run ended with is logged by the CLI, outside the run's RF_DEPLOY lines
    const invocation = healthFailed!._SYSTEMD_INVOCATION_ID;
    const error = (await sh(`journalctl _SYSTEMD_INVOCATION_ID=${invocation} -p err -o json --no-pager`))
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, string>)
      .find((e) => /never became healthy/.test(e.MESSAGE ?? ""));
    expect(error, "an error entry of that run naming the cause").toBeDefined();
    expect(logs.stdout).toContain(error!.MESSAGE);
    // the same as the journal holds for that run of the unit, no line of another run
    const ids = await sh(`journalctl -u 'rf-agent-demo-deploy@*' -F RF_DEPLOY`);
    expect(ids.split("\n").length).toBeGreaterThan(3);
    expect(logs.stdout).not.toMatch(/rf-agent deploy \(webhook\)/);
    const byId = await server.rfAgent(["logs", "--deploy", last.id]);
    expect(byId.stdout).toBe(logs.stdout);
    // the app's units by color, tagged by systemd with RF_COLOR
    const green = await server.rfAgent(["logs", "--color", "green", "-n", "500"]);
    expect(green.exitCode, green.stderr).toBe(0);
    expect(green.stdout).toMatch(/demo-(api|web)@green/);
    expect(green.stdout).not.toMatch(/demo-(api|web)@blue/);
    await writeAgentConfig(server, CONFIG);
  });
});

describe("rf-agent uninstall", () => {
  it("stops and removes exactly what install wrote", async () => {
    const r = await server.rfAgent(["uninstall"]);
    expect(r.exitCode, r.stderr).toBe(0);
    const left = await server.sh(
      `ls ${UNITS.map((u) => `/etc/systemd/system/${u}`).join(" ")} /etc/rf-agent/webhook.secret /var/lib/private/rf-agent-demo-webhook /var/lib/rf-agent/demo/install.json 2>&1`,
    );
    expect(left.stdout.split("\n").every((l) => l.includes("No such file"))).toBe(true);
    expect(await sh("find /etc/systemd/system -name 'rf-agent-demo-*'")).toBe("");
    expect(await sh("systemctl list-units --all --no-legend 'rf-agent-demo-*'")).toBe("");
    const port = await server.exec("curl", ["-sS", "http://127.0.0.1:9000/healthz"]);
    expect(port.exitCode).not.toBe(0);
    // the app itself is untouched
    expect(await served()).toBe("5.1.0");
    const again = await server.rfAgent(["uninstall"]);
    expect(again.stdout).toContain("nothing installed");
  });
});
