import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createSystemUser, lookupUser } from "../../../src/adapters/users.js";
import { fakeRunner } from "../helpers/fakes.js";

async function accountFiles(passwd: string, group: string) {
  const dir = await mkdtemp(path.join(tmpdir(), "rf-users-"));
  const files = { passwd: path.join(dir, "passwd"), group: path.join(dir, "group") };
  await writeFile(files.passwd, passwd);
  await writeFile(files.group, group);
  return files;
}

describe("lookupUser from /etc/passwd and /etc/group", () => {
  it("reads a local user without starting a process", async () => {
    const files = await accountFiles(
      "root:x:0:0:root:/root:/bin/bash\ndemo:x:998:997::/srv/demo:/usr/sbin/nologin\n",
      "root:x:0:\ndemo-group:x:997:\n",
    );
    const run = fakeRunner(() => ({ exitCode: 2 }));
    expect(await lookupUser(run, "demo", files)).toEqual({
      name: "demo",
      uid: 998,
      gid: 997,
      home: "/srv/demo",
      group: "demo-group",
    });
    expect(run.calls).toEqual([]);
  });

  it("matches the whole name, not a prefix or another field", async () => {
    const files = await accountFiles(
      "demo2:x:998:997::/srv/demo2:/bin/false\nother:x:5:5:demo:/demo:/bin/false\n",
      "demo:x:997:\n",
    );
    const run = fakeRunner(() => ({ exitCode: 2 }));
    expect(await lookupUser(run, "demo", files)).toBeNull();
    expect(run.calls.map((c) => c.file)).toEqual(["getent", "id"]);
  });

  it("asks NSS for a user the files do not hold, or whose group they do not name", async () => {
    const files = await accountFiles("demo:x:998:997::/srv/demo:/bin/false\n", "root:x:0:\n");
    const run = fakeRunner((_, args) =>
      args[0] === "passwd" ? { stdout: "demo:x:998:997::/srv/demo:/bin/false" } : { stdout: "ldap-group\n" },
    );
    expect((await lookupUser(run, "demo", files))?.group).toBe("ldap-group");
    expect(run.calls.map((c) => c.file)).toEqual(["getent", "id"]);
  });

  it("asks NSS when the files cannot be read", async () => {
    const run = fakeRunner((_, args) =>
      args[0] === "passwd" ? { stdout: "demo:x:998:997::/srv/demo:/bin/false" } : { stdout: "g\n" },
    );
    const files = { passwd: "/nonexistent/passwd", group: "/nonexistent/group" };
    expect(await lookupUser(run, "demo", files)).toMatchObject({ uid: 998, group: "g" });
  });
});

describe("lookupUser through NSS", () => {
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
