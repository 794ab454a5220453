import { mkdir, symlink } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  activeStates,
  daemonReload,
  disable,
  enable,
  enabledAtBoot,
  isActive,
  resetFailed,
  restart,
  start,
  status,
  statuses,
  stop,
  systemdRunning,
} from "../../../src/adapters/systemd.js";
import { fakeRunner, tempDir } from "../helpers/fakes.js";

const UNITS = ["demo-api@blue.service", "demo-web@blue.service"];
const line = (c: { file: string; args: string[] }) => [c.file, ...c.args].join(" ");

describe("status", () => {
  it("parses systemctl show", async () => {
    const run = fakeRunner(() => ({
      stdout: [
        "ActiveState=failed",
        "SubState=failed",
        "MainPID=0",
        "NRestarts=4",
        "Result=exit-code",
        "ExecMainStatus=1",
      ].join("\n"),
    }));
    expect(await status(run, "demo-api@blue.service")).toEqual({
      unit: "demo-api@blue.service",
      activeState: "failed",
      subState: "failed",
      mainPid: 0,
      restarts: 4,
      result: "exit-code",
      execMainStatus: 1,
    });
    expect(line(run.calls[0]!)).toBe(
      "systemctl show demo-api@blue.service --property=ActiveState,SubState,MainPID,NRestarts,Result,ExecMainStatus",
    );
  });

  it("keeps '=' inside values and defaults what is missing", async () => {
    const run = fakeRunner(() => ({ stdout: "ActiveState=active\nResult=a=b\n" }));
    expect(await status(run, "x.service")).toMatchObject({
      activeState: "active",
      subState: "unknown",
      mainPid: 0,
      restarts: 0,
      result: "a=b",
    });
  });
});

describe("statuses", () => {
  it("asks once for every unit and reads each block by its Id; a unit systemd did not name is unknown", async () => {
    const run = fakeRunner(() => ({
      stdout: [
        "Id=demo-web@blue.service\nActiveState=failed\nSubState=failed\nMainPID=0\nNRestarts=4\nResult=exit-code\nExecMainStatus=1",
        "Id=demo-api@blue.service\nActiveState=active\nSubState=running\nMainPID=42\nNRestarts=0\nResult=success\nExecMainStatus=0",
      ].join("\n\n"),
    }));
    const found = await statuses(run, [...UNITS, "demo-api@green.service"]);
    expect([...found.keys()]).toEqual([...UNITS, "demo-api@green.service"]);
    expect(found.get("demo-api@blue.service")).toEqual({
      unit: "demo-api@blue.service",
      activeState: "active",
      subState: "running",
      mainPid: 42,
      restarts: 0,
      result: "success",
      execMainStatus: 0,
    });
    expect(found.get("demo-web@blue.service")).toMatchObject({ activeState: "failed", restarts: 4 });
    expect(found.get("demo-api@green.service")).toMatchObject({
      activeState: "unknown",
      subState: "unknown",
    });
    expect(run.calls.map(line)).toEqual([
      "systemctl show --property=Id,ActiveState,SubState,MainPID,NRestarts,Result,ExecMainStatus demo-api@blue.service demo-web@blue.service demo-api@green.service",
    ]);
    expect(await statuses(run, [])).toEqual(new Map());
    expect(run.calls).toHaveLength(1);
  });
});

describe("verbs", () => {
  it("restart and start do not block, and fail as SYSTEMD", async () => {
    const run = fakeRunner();
    await restart(run, UNITS);
    await start(run, UNITS);
    expect(run.calls.map(line)).toEqual([
      "systemctl restart --no-block demo-api@blue.service demo-web@blue.service",
      "systemctl start --no-block demo-api@blue.service demo-web@blue.service",
    ]);
    expect(run.calls.every((c) => c.options?.code === "SYSTEMD")).toBe(true);
  });

  it("stop waits for the units, and does nothing without units", async () => {
    const run = fakeRunner();
    await stop(run, []);
    expect(run.calls).toHaveLength(0);
    await stop(run, UNITS);
    expect(run.calls.map(line)).toEqual(["systemctl stop demo-api@blue.service demo-web@blue.service"]);
    expect(run.calls[0]!.options).toMatchObject({ code: "SYSTEMD", timeoutMs: 120_000 });
  });

  it("reset-failed never throws, daemon-reload does", async () => {
    const run = fakeRunner();
    await resetFailed(run, UNITS);
    await daemonReload(run);
    expect(run.calls[0]!.options).toEqual({ reject: false });
    expect(run.calls[1]!.options?.reject).toBeUndefined();
    expect(line(run.calls[1]!)).toBe("systemctl daemon-reload");
  });
});

describe("isActive / systemdRunning", () => {
  it("isActive follows the exit status", async () => {
    expect(
      await isActive(
        fakeRunner(() => ({ exitCode: 0 })),
        "nginx.service",
      ),
    ).toBe(true);
    expect(
      await isActive(
        fakeRunner(() => ({ exitCode: 3 })),
        "nginx.service",
      ),
    ).toBe(false);
  });

  it.each([
    ["running", true],
    ["degraded", true],
    ["starting", true],
    ["offline", false],
    ["", false],
  ])("systemdRunning is %s -> %s", async (answer, expected) => {
    expect(await systemdRunning(fakeRunner(() => ({ stdout: `${answer}\n`, exitCode: 1 })))).toBe(expected);
  });
});

describe("boot", () => {
  it("enable and disable name every unit in one call, without a daemon reload, and skip an empty list", async () => {
    const run = fakeRunner();
    await enable(run, UNITS);
    await disable(run, ["demo-api@green.service"]);
    await enable(run, []);
    await disable(run, []);
    expect(run.calls.map(line)).toEqual([
      "systemctl enable --no-reload demo-api@blue.service demo-web@blue.service",
      "systemctl disable --no-reload demo-api@green.service",
    ]);
  });

  it("enabledAtBoot reads the multi-user.target.wants links, no process", async () => {
    const { dir, cleanup } = await tempDir();
    try {
      await mkdir(path.join(dir, "multi-user.target.wants"));
      await symlink(
        "../demo-api@.service",
        path.join(dir, "multi-user.target.wants", "demo-api@blue.service"),
      );
      expect(await enabledAtBoot(dir, [...UNITS, "nginx.service"])).toEqual(
        new Set(["demo-api@blue.service"]),
      );
      expect(await enabledAtBoot(path.join(dir, "nowhere"), UNITS)).toEqual(new Set());
    } finally {
      await cleanup();
    }
  });

  it("activeStates asks once for all units and reads each block", async () => {
    const run = fakeRunner(() => ({
      stdout:
        "Id=demo-api@blue.service\nActiveState=active\n\nId=demo-web@blue.service\nActiveState=inactive\n",
    }));
    expect(await activeStates(run, UNITS)).toEqual(
      new Map([
        ["demo-api@blue.service", "active"],
        ["demo-web@blue.service", "inactive"],
      ]),
    );
    expect(run.calls.map(line)).toEqual([
      "systemctl show --property=Id,ActiveState demo-api@blue.service demo-web@blue.service",
    ]);
    expect(await activeStates(run, [])).toEqual(new Map());
    expect(run.calls).toHaveLength(1);
  });
});
