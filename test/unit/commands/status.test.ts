import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { HttpAnswer, HttpGet } from "../../../src/adapters/health.js";
import { saveState } from "../../../src/adapters/state-store.js";
import { collectStatus, formatStatus, type StatusReport } from "../../../src/commands/status.js";
import type { Context } from "../../../src/context.js";
import { emptyState } from "../../../src/core/state.js";
import { sha } from "../helpers/config.js";
import { tempDir } from "../helpers/fakes.js";
import { fakeHost, hostModel, writeInclude } from "../helpers/host.js";

const report = (patch: Partial<StatusReport> = {}): StatusReport => ({
  app: "demo",
  live: { color: "blue", sha: "a".repeat(40), since: "2026-01-01T00:00:00.000Z" },
  nginx: { color: "blue", sha: "a".repeat(40) },
  previous: null,
  standby: null,
  slots: {
    blue: { sha: "a".repeat(40), role: "live", services: {} },
    green: { sha: null, role: "idle", services: {} },
  },
  lock: null,
  preview: null,
  staged: null,
  lastRun: null,
  ...patch,
});

describe("formatStatus", () => {
  it("prints what serves", () => {
    expect(formatStatus(report())).toBe(
      [
        "app      demo",
        "live     blue aaaaaaaaaaaa since 2026-01-01T00:00:00.000Z",
        "blue     aaaaaaaaaaaa  live",
        "green    (empty)  idle",
        "lock     free",
      ].join("\n"),
    );
  });

  it("strips escape sequences and line breaks from a delivery id in the trigger and from the lock holder", () => {
    const text = formatStatus(
      report({
        lastRun: {
          id: "ab12cd34",
          command: "deploy",
          startedAt: "2026-01-01T00:00:00.000Z",
          outcome: "deployed",
          trigger: "webhook (delivery \u001b]0;owned\u0007x\u001b[2J\nlive     green forged)",
        },
        lock: { pid: 7, command: "rf-agent deploy\u001b[8m", since: "now" },
      }),
    );
    expect([...text].filter((ch) => ch !== "\n" && (ch < " " || (ch >= "\u007f" && ch <= "\u009f")))).toEqual(
      [],
    );
    expect(text).toContain(
      "last     deploy deployed at 2026-01-01T00:00:00.000Z (webhook (delivery x live     green forged), id ab12cd34)",
    );
    expect(text).toContain("lock     held by pid 7 (rf-agent deploy) since now");
    expect(text.split("\n").filter((l) => l.startsWith("live"))).toHaveLength(1);
  });
});

describe("collectStatus", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  // Blue live and served, green a warm standby in the state file; green's units run when `greenRuns`.
  async function host(greenRuns: boolean) {
    const h = await fakeHost(
      dir,
      hostModel({ served: { color: "blue", sha: sha("a") }, active: { blue: true, green: greenRuns } }),
      {
        // every unit's status, as systemd prints it for `systemctl show --property=Id,...`
        respond: (file, args) => {
          if (
            file !== "systemctl" ||
            args[0] !== "show" ||
            !args[1]?.startsWith("--property=Id,ActiveState,")
          )
            return undefined;
          const blocks = args.slice(2).map((u) => {
            const up = u.includes("@blue.") || greenRuns;
            return `Id=${u}\nActiveState=${up ? "active" : "inactive"}\nSubState=${up ? "running" : "dead"}`;
          });
          return { stdout: blocks.join("\n\n") };
        },
      },
    );
    await writeInclude(h.ctx, "blue", sha("a"));
    await saveState(h.ctx.layout, {
      ...emptyState("demo"),
      live: { color: "blue", sha: sha("a"), since: "2026-01-01T00:00:00.000Z" },
      slots: { blue: { sha: sha("a"), installedAt: "x" }, green: { sha: sha("b"), installedAt: "x" } },
      standby: { color: "green", until: "2999-01-01T00:00:00.000Z" },
    });
    return h;
  }

  const systemctl = (h: Awaited<ReturnType<typeof host>>) =>
    h.run.calls.filter((c) => c.file === "systemctl").map((c) => c.args.slice(0, 2).join(" "));

  it("asks systemd once for every unit and the standby check reads the same answer", async () => {
    const h = await host(true);
    const r = await collectStatus(h.ctx);
    expect(r.standby).toMatchObject({ color: "green", until: "2999-01-01T00:00:00.000Z" });
    expect(r.slots.green.role).toBe("standby");
    expect(r.slots.green.services.web).toEqual({
      unit: "demo-web@green.service",
      port: 8502,
      state: "active/running",
      healthy: true,
    });
    expect(systemctl(h)).toEqual([
      "show --property=Id,ActiveState,SubState,MainPID,NRestarts,Result,ExecMainStatus",
    ]);
  });

  it("drops a standby whose units no longer run, still in one systemctl", async () => {
    const h = await host(false);
    const r = await collectStatus(h.ctx);
    expect(r.standby).toBeNull();
    expect(r.slots.green.role).toBe("idle");
    expect(r.slots.green.services.api?.state).toBe("inactive/dead");
    expect(systemctl(h)).toHaveLength(1);
  });

  it("asks nginx and every running service at once, not one after the other", async () => {
    const h = await host(true);
    const asked: string[] = [];
    const release: (() => void)[] = [];
    const held: HttpGet = (url, opts) =>
      new Promise<HttpAnswer>((resolve) => {
        asked.push(url);
        release.push(() => void h.get(url, opts).then(resolve));
      });
    const ctx: Context = { ...h.ctx, get: held };
    const done = collectStatus(ctx);
    await new Promise((r) => setTimeout(r, 50));
    expect(asked.sort()).toEqual(
      [
        "http://127.0.0.1:80/__rf-agent/live",
        "http://127.0.0.1:8000/health",
        "http://127.0.0.1:8001/health",
        "http://127.0.0.1:8501/_stcore/health",
        "http://127.0.0.1:8502/_stcore/health",
      ].sort(),
    );
    for (const r of release) r();
    const r = await done;
    expect(r.nginx).toEqual({ color: "blue", sha: sha("a") });
    expect(Object.values(r.slots).flatMap((s) => Object.values(s.services).map((x) => x.healthy))).toEqual([
      true,
      true,
      true,
      true,
    ]);
  });
});
