// The systemd-run argv, exactly: what the sandbox allows is decided here and nowhere else.
import { describe, expect, it } from "vitest";
import { RfError } from "../../../src/errors.js";
import {
  escapeCommandLine,
  runtimeSec,
  sandboxArgv,
  sandboxUnitName,
  systemdExitReason,
  unitOfCgroup,
  type SandboxSpec,
} from "../../../src/exec/sandbox.js";

const HARDENING = [
  "NoNewPrivileges=yes",
  "ProtectSystem=strict",
  "PrivateTmp=yes",
  "PrivateDevices=yes",
  "DevicePolicy=closed",
  "ProtectHostname=yes",
  "ProtectClock=yes",
  "ProtectKernelTunables=yes",
  "ProtectKernelModules=yes",
  "ProtectKernelLogs=yes",
  "ProtectControlGroups=yes",
  "ProtectProc=invisible",
  "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
  "RestrictNamespaces=yes",
  "RestrictRealtime=yes",
  "RestrictSUIDSGID=yes",
  "LockPersonality=yes",
  "CapabilityBoundingSet=",
  "AmbientCapabilities=",
  "SystemCallArchitectures=native",
  "SystemCallFilter=@system-service",
  "SystemCallFilter=~@privileged @resources",
  "SystemCallErrorNumber=EPERM",
  "KeyringMode=private",
  "UMask=0027",
  "KillMode=control-group",
  "TimeoutStopSec=3",
].flatMap((p) => ["-p", p]);

const HOOK: SandboxSpec = {
  unit: "rf-agent-demo-hook-0123456789abcdef",
  file: "/bin/sh",
  args: ["-c", "python migrate.py"],
  as: { uid: 998, gid: 997, home: "/srv/demo" },
  cwd: "/srv/demo/blue",
  writable: ["/var/lib/demo"],
  envFiles: ["/etc/rf-agent/demo.env", "/etc/rf-agent/demo-blue.env"],
  env: { PATH: "/srv/demo/venvs/blue/bin:/usr/bin:/bin", RF_COLOR: "blue" },
  timeoutSec: 300,
};

function thrown(f: () => unknown): RfError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(RfError);
    return e as RfError;
  }
  throw new Error("did not throw");
}

describe("sandboxArgv", () => {
  it("a hook: the services' hardening, its data dir writable, env files read by systemd, the time limit", () => {
    expect(sandboxArgv(HOOK)).toEqual([
      "--wait",
      "--pipe",
      "--collect",
      "--quiet",
      "--unit=rf-agent-demo-hook-0123456789abcdef",
      "--uid=998",
      "--gid=997",
      "--working-directory=/srv/demo/blue",
      ...HARDENING,
      "-p",
      "ProtectHome=yes",
      "-p",
      "ReadWritePaths=/var/lib/demo",
      "-p",
      "EnvironmentFile=/etc/rf-agent/demo.env",
      "-p",
      "EnvironmentFile=/etc/rf-agent/demo-blue.env",
      "-p",
      "RuntimeMaxSec=300",
      "--setenv=PATH=/srv/demo/venvs/blue/bin:/usr/bin:/bin",
      "--setenv=RF_COLOR=blue",
      "--",
      "/bin/sh",
      "-c",
      "python migrate.py",
    ]);
  });

  it("without cwd, env files or timeout: / as working directory, no limit, each writable path its own -p", () => {
    expect(
      sandboxArgv({
        unit: "rf-agent-demo-pip-00",
        file: "/srv/demo/venvs/blue/bin/pip",
        args: ["install", "-r", "requirements.txt"],
        as: { uid: 1, gid: 2, home: "/srv/demo" },
        writable: ["/srv/demo/venvs/blue", "/srv/demo/.cache"],
        env: {},
      }),
    ).toEqual([
      "--wait",
      "--pipe",
      "--collect",
      "--quiet",
      "--unit=rf-agent-demo-pip-00",
      "--uid=1",
      "--gid=2",
      "--working-directory=/",
      ...HARDENING,
      "-p",
      "ProtectHome=yes",
      "-p",
      "ReadWritePaths=/srv/demo/venvs/blue",
      "-p",
      "ReadWritePaths=/srv/demo/.cache",
      "--",
      "/srv/demo/venvs/blue/bin/pip",
      "install",
      "-r",
      "requirements.txt",
    ]);
  });

  it("home directories read-only instead of hidden when the command works or writes under one", () => {
    const protectHome = (spec: Partial<SandboxSpec>) =>
      sandboxArgv({ ...HOOK, ...spec }).filter((a) => a.startsWith("ProtectHome="));
    expect(protectHome({ cwd: "/home/demo/app/blue" })).toEqual(["ProtectHome=read-only"]);
    expect(protectHome({ writable: ["/root/data"] })).toEqual(["ProtectHome=read-only"]);
    expect(protectHome({ writable: ["/run/user/1000"] })).toEqual(["ProtectHome=read-only"]);
    expect(protectHome({ cwd: "/homes/demo", writable: ["/rooted"] })).toEqual(["ProtectHome=yes"]);
  });

  it("doubles every dollar of the command, so systemd expands none of it; env values stay as they are", () => {
    const argv = sandboxArgv({
      ...HOOK,
      args: ["-c", 'echo "$RF_COLOR" $$ ${HOME}'],
      env: { GREETING: "a $b c" },
    });
    expect(argv.slice(-3)).toEqual(["/bin/sh", "-c", 'echo "$$RF_COLOR" $$$$ $${HOME}']);
    expect(argv).toContain("--setenv=GREETING=a $b c");
  });

  it("binds the command to the unit rf-agent runs in, when there is one", () => {
    const argv = sandboxArgv({ ...HOOK, boundTo: "rf-agent-demo-deploy@webhook.service" });
    expect(argv.slice(argv.indexOf("RuntimeMaxSec=300") + 1, argv.indexOf("RuntimeMaxSec=300") + 3)).toEqual([
      "-p",
      "BindsTo=rf-agent-demo-deploy@webhook.service",
    ]);
    expect(sandboxArgv({ ...HOOK, boundTo: null }).some((a) => a.startsWith("BindsTo="))).toBe(false);
    expect(thrown(() => sandboxArgv({ ...HOOK, boundTo: "x.service y.service" })).code).toBe("INTERNAL");
  });

  it("rounds the time limit up to whole seconds, at least one", () => {
    expect(sandboxArgv({ ...HOOK, timeoutSec: 2.2 })).toContain("RuntimeMaxSec=3");
    expect(runtimeSec(0.001)).toBe(1);
    expect(runtimeSec(5)).toBe(5);
  });

  it("refuses what -p would split or misread, as a bug rather than passing it on", () => {
    expect(thrown(() => sandboxArgv({ ...HOOK, writable: ["/var/lib/my data"] })).code).toBe("INTERNAL");
    expect(thrown(() => sandboxArgv({ ...HOOK, writable: ["relative"] })).message).toMatch(/relative/);
    expect(thrown(() => sandboxArgv({ ...HOOK, envFiles: ["/etc/x.env /etc/shadow"] })).code).toBe(
      "INTERNAL",
    );
    expect(thrown(() => sandboxArgv({ ...HOOK, cwd: '/srv/"x' })).code).toBe("INTERNAL");
    expect(thrown(() => sandboxArgv({ ...HOOK, env: { "BAD NAME": "x" } })).code).toBe("INTERNAL");
    expect(thrown(() => sandboxArgv({ ...HOOK, unit: "x y" })).code).toBe("INTERNAL");
  });
});

describe("unitOfCgroup", () => {
  it("the service or scope of the unified hierarchy, or of v1's name=systemd", () => {
    expect(unitOfCgroup("0::/system.slice/rf-agent-demo-deploy@timer.service\n")).toBe(
      "rf-agent-demo-deploy@timer.service",
    );
    expect(
      unitOfCgroup("9:name=systemd:/user.slice/user-0.slice/session-3.scope\n4:memory:/user.slice\n"),
    ).toBe("session-3.scope");
    expect(unitOfCgroup("1:name=systemd:/x.slice/a.service\n0::/system.slice/b.service\n")).toBe("b.service");
  });

  it("nothing for PID 1's scope, a cgroup outside the namespace, a slice or no text", () => {
    expect(unitOfCgroup("0::/init.scope\n")).toBeNull();
    expect(unitOfCgroup("9:name=systemd:/..\n0::/..\n")).toBeNull();
    expect(unitOfCgroup("0::/\n")).toBeNull();
    expect(unitOfCgroup("0::/user.slice\n")).toBeNull();
    expect(unitOfCgroup("")).toBeNull();
  });
});

describe("sandboxUnitName", () => {
  it("adds 16 random hex digits, different each time", () => {
    const a = sandboxUnitName("rf-agent-demo-hook");
    expect(a).toMatch(/^rf-agent-demo-hook-[0-9a-f]{16}$/);
    expect(sandboxUnitName("rf-agent-demo-hook")).not.toBe(a);
    expect(sandboxUnitName("p", "ab")).toBe("p-ab");
  });

  it("refuses a prefix that is not a plain unit name", () => {
    expect(thrown(() => sandboxUnitName("../x")).code).toBe("INTERNAL");
    expect(thrown(() => sandboxUnitName("")).code).toBe("INTERNAL");
  });
});

describe("escapeCommandLine and systemdExitReason", () => {
  it("leaves words without a dollar alone", () => {
    expect(escapeCommandLine("plain %n words")).toBe("plain %n words");
    expect(escapeCommandLine("$")).toBe("$$");
  });

  it("names systemd's own failures, not the command's", () => {
    expect(systemdExitReason(226)).toMatch(/^NAMESPACE: /);
    expect(systemdExitReason(200)).toMatch(/^CHDIR: /);
    expect(systemdExitReason(1)).toBeUndefined();
  });
});
