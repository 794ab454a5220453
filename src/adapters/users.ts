// The app's unix user: looked up, and created on a fresh host.
import type { Runner, RunAs } from "../exec/runner.js";

export interface UnixUser extends RunAs {
  name: string;
  group: string;
}

export async function lookupUser(run: Runner, name: string): Promise<UnixUser | null> {
  const pw = await run("getent", ["passwd", name], { reject: false });
  if (pw.exitCode !== 0) return null;
  const [, , uid, gid, , home] = pw.stdout.trim().split(":");
  const gr = await run("getent", ["group", gid ?? ""], { reject: false });
  const group = gr.exitCode === 0 ? (gr.stdout.split(":")[0] ?? name) : name;
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
