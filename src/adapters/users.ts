// The app's unix user: looked up, and created on a fresh host.
import { readFile } from "node:fs/promises";
import type { Runner, RunAs } from "../exec/runner.js";

export interface UnixUser extends RunAs {
  name: string;
  group: string;
}

/** Root's own account files; a user only NSS knows (LDAP, sssd) is asked of getent. */
export const ACCOUNT_FILES = { passwd: "/etc/passwd", group: "/etc/group" } as const;

/** The colon-separated line of an account file whose first field is `key`, split. */
function entry(text: string, key: string, field = 0): string[] | null {
  for (const line of text.split("\n")) {
    const fields = line.split(":");
    if (fields[field] === key && fields.length >= 4) return fields;
  }
  return null;
}

/**
 * Read from /etc/passwd and /etc/group where the user is a local one, as an app's system user is:
 * every command starts with this lookup, and two process starts (~20 ms of the main thread, more
 * on a busy host) are most of a `status`. Elsewhere getent and id, which ask NSS.
 */
export async function lookupUser(
  run: Runner,
  name: string,
  files: { passwd: string; group: string } = ACCOUNT_FILES,
): Promise<UnixUser | null> {
  const [passwd, groups] = await Promise.all([
    readFile(files.passwd, "utf8").catch(() => ""),
    readFile(files.group, "utf8").catch(() => ""),
  ]);
  const local = entry(passwd, name);
  if (local && /^\d+$/.test(local[2]!) && /^\d+$/.test(local[3]!)) {
    const [, , uid, gid, , home] = local;
    const group = entry(groups, gid!, 2)?.[0];
    if (group) return { name, uid: Number(uid), gid: Number(gid), home: home || "/", group };
  }
  // Both at once: a rollback is only as fast as its start.
  const [pw, gr] = await Promise.all([
    run("getent", ["passwd", name], { reject: false }),
    run("id", ["-gn", name], { reject: false }),
  ]);
  if (pw.exitCode !== 0) return null;
  const [, , uid, gid, , home] = pw.stdout.trim().split(":");
  const group = (gr.exitCode === 0 && gr.stdout.trim()) || name;
  return { name, uid: Number(uid), gid: Number(gid), home: home || "/", group };
}

/** A system user with no login shell, whose home is the app root (pip's cache, Streamlit's config). */
export async function createSystemUser(run: Runner, name: string, home: string): Promise<void> {
  await run(
    "useradd",
    [
      "--system",
      "--user-group",
      "--home-dir",
      home,
      "--no-create-home",
      "--shell",
      "/usr/sbin/nologin",
      name,
    ],
    {
      code: "COMMAND",
      hint: `create the user yourself: useradd --system --user-group --home-dir ${home} ${name}`,
    },
  );
}
