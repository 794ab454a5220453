// serviceStatuses: one `systemctl show` for every unit, and beside it the health of every service.
import { describe, expect, it } from "vitest";
import type { HttpAnswer, HttpGet } from "../../../src/adapters/health.js";
import { serviceStatuses, STATUS_HEALTH_TIMEOUT_MS } from "../../../src/ops/service-status.js";
import { testConfig } from "../helpers/config.js";
import { fakeContext, fakeRunner } from "../helpers/fakes.js";

const block = (unit: string, active: string, sub: string) =>
  `Id=${unit}\nActiveState=${active}\nSubState=${sub}\nMainPID=0\nNRestarts=0\nResult=success\nExecMainStatus=0`;

/** An HttpGet whose answers wait until the test gives them, so it sees what was asked before any answer. */
function heldGet() {
  const asked: { url: string; timeoutMs: number | undefined; answer: (a: HttpAnswer) => void }[] = [];
  const get: HttpGet = (url, opts) =>
    new Promise((answer) => asked.push({ url, timeoutMs: opts?.timeoutMs, answer }));
  return { get, asked };
}

const settle = () => new Promise((r) => setTimeout(r, 20));

describe("serviceStatuses", () => {
  it("asks systemd once for all units and, beside it, every health URL at once with the short timeout", async () => {
    let systemdAnswers!: () => void;
    const systemdAsked = new Promise<void>((r) => (systemdAnswers = r));
    const run = fakeRunner(async () => {
      await systemdAsked;
      return {
        stdout: [
          block("demo-api@blue.service", "active", "running"),
          block("demo-web@blue.service", "active", "running"),
          block("demo-api@green.service", "inactive", "dead"),
          block("demo-web@green.service", "failed", "failed"),
        ].join("\n\n"),
      };
    });
    const { get, asked } = heldGet();
    const ctx = fakeContext(testConfig(), { run, get });
    const done = serviceStatuses(ctx);
    await settle();
    // all asked while systemctl has not answered, and before any health answer
    expect(asked.map((a) => [a.url, a.timeoutMs])).toEqual([
      ["http://127.0.0.1:8000/health", STATUS_HEALTH_TIMEOUT_MS],
      ["http://127.0.0.1:8501/_stcore/health", STATUS_HEALTH_TIMEOUT_MS],
      ["http://127.0.0.1:8001/health", STATUS_HEALTH_TIMEOUT_MS],
      ["http://127.0.0.1:8502/_stcore/health", STATUS_HEALTH_TIMEOUT_MS],
    ]);
    expect(STATUS_HEALTH_TIMEOUT_MS).toBeLessThanOrEqual(1000);
    systemdAnswers();
    asked[1]!.answer({ status: 503, body: "starting" });
    asked[0]!.answer({ status: 200, body: "ok" });
    // Something answering on a stopped unit's port does not make that unit healthy.
    asked[2]!.answer({ status: 200, body: "someone else" });
    // green's web never answers: not waited for, since its unit is not active
    const { services, activeStates } = await done;
    expect(services).toEqual({
      blue: {
        api: { unit: "demo-api@blue.service", port: 8000, state: "active/running", healthy: true },
        web: { unit: "demo-web@blue.service", port: 8501, state: "active/running", healthy: false },
      },
      green: {
        api: { unit: "demo-api@green.service", port: 8001, state: "inactive/dead", healthy: false },
        web: { unit: "demo-web@green.service", port: 8502, state: "failed/failed", healthy: false },
      },
    });
    expect(activeStates.get("demo-web@green.service")).toBe("failed");
    expect(run.calls.map((c) => [c.file, ...c.args].join(" "))).toEqual([
      "systemctl show --property=Id,ActiveState,SubState,MainPID,NRestarts,Result,ExecMainStatus demo-api@blue.service demo-web@blue.service demo-api@green.service demo-web@green.service",
    ]);
  });

  it("reads a unit systemd said nothing of as unknown, waits for no health of it, and leaves it out of the active states", async () => {
    const run = fakeRunner(() => ({ stdout: block("demo-api@blue.service", "active", "running") }));
    const { get, asked } = heldGet();
    const ctx = fakeContext(testConfig(), { run, get });
    const done = serviceStatuses(ctx);
    await settle();
    expect(asked).toHaveLength(4);
    asked[0]!.answer({ status: 0, body: "timeout" });
    const { services, activeStates } = await done;
    expect(services.blue.api).toMatchObject({ state: "active/running", healthy: false });
    expect(services.green.web).toMatchObject({ state: "unknown/unknown", healthy: false });
    expect([...activeStates]).toEqual([["demo-api@blue.service", "active"]]);
  });
});
