// The app's unix user: looked up, and created on a fresh host.
import type { Runner, RunAs } from "../exec/runner.js";

export interface UnixUser extends RunAs {
  name: string;
  group: string;
}

export async function lookupUser(run: Runner, name: string): Promise<UnixUser | null> {
  // Both at once: every command starts with this lookup, and a rollback is only as fast as its start.
  const [pw, gr] = await Promise.all([
    run("getent", ["passwd", name], { reject: false }),
    run("id", ["-gn", name], { reject: false }),
  ]);
  if (pw.exitCode !== 0) return null;
  const [, , uid, gid, , home] = pw.stdout.trim().split(":");
  const group = (gr.exitCode === 0 && gr.stdout.trim()) || name;
  return { name, uid: Number(uid), gid: Number(gid), home: home ?? "/", group };
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
