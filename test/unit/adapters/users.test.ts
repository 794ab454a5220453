import { describe, expect, it } from "vitest";
import { createSystemUser, lookupUser } from "../../../src/adapters/users.js";
import { fakeRunner } from "../helpers/fakes.js";

describe("lookupUser", () => {
  it("reads uid, gid and home from getent, the primary group's name from id", async () => {
    const run = fakeRunner((_, args) =>
      args[0] === "passwd"
        ? { stdout: "demo:x:998:997::/srv/demo:/usr/sbin/nologin\n" }
        : { stdout: "demo-group\n" },
    );
    expect(await lookupUser(run, "demo")).toEqual({
      name: "demo",
      uid: 998,
      gid: 997,
      home: "/srv/demo",
      group: "demo-group",
    });
    expect(run.calls.map((c) => [c.file, ...c.args].join(" "))).toEqual([
      "getent passwd demo",
      "id -gn demo",
    ]);
  });

  it("is null for an unknown user", async () => {
    const run = fakeRunner(() => ({ exitCode: 2 }));
    expect(await lookupUser(run, "nobody-here")).toBeNull();
    expect(run.calls.map((c) => c.file)).toEqual(["getent", "id"]);
  });

  it("falls back to the user name when the group is unknown", async () => {
    const run = fakeRunner((_, args) =>
      args[0] === "passwd" ? { stdout: "demo:x:998:997::/srv/demo:/bin/false" } : { exitCode: 2 },
    );
    expect((await lookupUser(run, "demo"))?.group).toBe("demo");
  });
});

describe("createSystemUser", () => {
  it("makes a system user with its own group, no login, home at the app root", async () => {
    const run = fakeRunner();
    await createSystemUser(run, "demo", "/srv/demo");
    expect(run.calls[0]!.file).toBe("useradd");
    expect(run.calls[0]!.args).toEqual([
      "--system",
      "--user-group",
      "--home-dir",
      "/srv/demo",
      "--no-create-home",
      "--shell",
      "/usr/sbin/nologin",
      "demo",
    ]);
    expect(run.calls[0]!.options?.hint).toContain("useradd --system");
  });
});
