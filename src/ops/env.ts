// The app's environment: env files checked (root's, private, in root's directories, required variables
// real) before anything starts, and every value registered for scrubbing.
import { constants } from "node:fs";
import { lstat, open, realpath } from "node:fs/promises";
import path from "node:path";
import { COLORS, type Color } from "../config/types.js";
import type { Context } from "../context.js";
import { isScrubbed, judgeRequired, parseEnvFile } from "../core/env-file.js";
import { RfError } from "../errors.js";
import { addSecret } from "../log.js";

/** An env file larger than this is refused: it is read whole, as root, while holding the lock. */
export const MAX_ENV_FILE_BYTES = 1024 * 1024;

export function envFilesFor(ctx: Context, color: Color): string[] {
  const { envFile, colorEnvFiles } = ctx.config.app;
  return [envFile, colorEnvFiles[color]].filter((f): f is string => f !== null);
}

function refuse(message: string, hint: string): RfError {
  return new RfError("ENV", message, { hint, exitCode: 2 });
}

const makePrivate = (file: string) => `chown root: ${file} && chmod 600 ${file}`;

interface Owned {
  uid: number;
  mode: number;
}

/**
 * Why a directory on the way to an env file is unsafe, or null: it must be owned by root (or `owner`,
 * or whoever runs rf-agent: root in production) and not group- or world-writable unless sticky (/tmp).
 * Otherwise whoever can write there could swap the file for a link to a root-only file between the
 * check and systemd reading it for the app's units.
 */
export function dirProblem(dir: string, st: Owned, owner: number, self = process.getuid?.()): string | null {
  if (st.uid !== 0 && st.uid !== owner && st.uid !== self) return `${dir}, which uid ${st.uid} owns`;
  if (st.mode & 0o022 && !(st.mode & 0o1000)) return `${dir}, which other users can write to`;
  return null;
}

/** Why an opened env file must not be used, as [message, fix], or null. */
export function fileProblem(
  file: string,
  st: Owned & { size: number },
  owner: number,
): [string, string] | null {
  if (st.uid !== owner)
    return [
      `is owned by uid ${st.uid}, not root: that user could change the app's environment`,
      makePrivate(file),
    ];
  if (st.mode & 0o022)
    return [`is writable by ${st.mode & 0o002 ? "every user" : "its group"}`, makePrivate(file)];
  if (st.mode & 0o007)
    return ["is readable by every user on this host", `make it private: ${makePrivate(file)}`];
  if (st.size > MAX_ENV_FILE_BYTES)
    return [`is ${st.size} bytes, more than ${MAX_ENV_FILE_BYTES}`, "keep only the app's variables in it"];
  return null;
}

// Each directory from / down; a symlinked one is as safe as the directory holding it, and where it
// points is checked the same way.
async function checkDirs(file: string, owner: number, depth = 0): Promise<void> {
  const parts = path.dirname(file).split("/").filter(Boolean);
  for (let i = 0; i <= parts.length; i++) {
    const dir = `/${parts.slice(0, i).join("/")}`;
    const st = await lstat(dir).catch(() => null);
    if (!st) return; // the file's own check says it does not exist
    if (st.isSymbolicLink()) {
      if (depth > 8)
        throw refuse(`env file ${file}: too many symbolic links on the way`, "use the real path");
      await checkDirs(path.join(await realpath(dir), "x"), owner, depth + 1);
      continue;
    }
    if (!st.isDirectory()) return;
    const problem = dirProblem(dir, st, owner);
    if (problem) {
      throw refuse(
        `env file ${file} is in ${problem}: they could swap it for another file`,
        `keep env files in a directory only root can change, e.g. /etc/rf-agent (or chown root: ${dir} && chmod go-w ${dir})`,
      );
    }
  }
}

/**
 * One env file's text, read as root only when it is a regular file (not a symlink or FIFO) owned by
 * `owner` (root; tests pass their own uid), in directories only root can change, not writable by group
 * or others, not readable by others, and at most MAX_ENV_FILE_BYTES.
 */
export async function readEnvFile(file: string, owner = 0): Promise<string> {
  await checkDirs(file, owner);
  const link = await lstat(file).catch(() => null);
  if (!link) {
    throw refuse(
      `env file ${file} does not exist`,
      `create it (install -m 600 /dev/null ${file}) or remove it from the config`,
    );
  }
  if (link.isSymbolicLink()) throw symlinked(file);
  if (!link.isFile()) throw notRegular(file);
  // O_NOFOLLOW: a link swapped in since the lstat is refused; O_NONBLOCK: a FIFO cannot hang the open.
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(
    (e: NodeJS.ErrnoException) => {
      throw e.code === "ELOOP" ? symlinked(file) : e;
    },
  );
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw notRegular(file);
    const problem = fileProblem(file, st, owner);
    if (problem) throw refuse(`env file ${file} ${problem[0]}`, problem[1]);
    // One byte more than fstat said: a file that grew since is refused, not read cut short.
    const buf = Buffer.alloc(st.size + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n === buf.length)
        throw refuse(`env file ${file} changed while rf-agent read it`, "run the command again");
    }
    return buf.subarray(0, n).toString("utf8");
  } finally {
    await handle.close();
  }
}

const symlinked = (file: string) =>
  refuse(
    `env file ${file} is a symbolic link; rf-agent reads only the file itself`,
    `set the config to the real path (readlink -f ${file}), or replace the link with the file and ${makePrivate(file)}`,
  );
const notRegular = (file: string) =>
  refuse(
    `env file ${file} is not a regular file`,
    "point the config at a regular file, e.g. one made with install -m 600 /dev/null /etc/rf-agent/app.env",
  );

/** The merged variables one color's services get; each file must pass readEnvFile. */
export async function loadAppEnv(ctx: Context, color: Color, owner = 0): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const file of envFilesFor(ctx, color)) {
    for (const [k, v] of parseEnvFile(await readEnvFile(file, owner))) env[k] = v;
  }
  for (const [k, v] of Object.entries(env))
    if (isScrubbed(k, v, ctx.config.app.requiredEnv.includes(k))) addSecret(v);
  return env;
}

/**
 * Registers every env file's values for scrubbing at the start of a run, before any step can print
 * one: hooks get their environment through systemd, not through loadAppEnv. A file that fails its
 * checks is skipped here; the step that needs it reports why.
 */
export async function scrubAppEnv(ctx: Context, owner = 0): Promise<void> {
  const required = ctx.config.app.requiredEnv;
  for (const file of new Set(COLORS.flatMap((c) => envFilesFor(ctx, c)))) {
    const text = await readEnvFile(file, owner).catch(() => null);
    if (text === null) continue;
    for (const [k, v] of parseEnvFile(text)) if (isScrubbed(k, v, required.includes(k))) addSecret(v);
  }
}

/** Every required variable present, non-empty, and not a placeholder; the error names them, never their values. */
export async function checkRequiredEnv(
  ctx: Context,
  color: Color,
  owner = 0,
): Promise<Record<string, string>> {
  const env = await loadAppEnv(ctx, color, owner);
  const problems = ctx.config.app.requiredEnv
    .map((name) => judgeRequired(name, env[name], ctx.config.app.secretMinLength))
    .filter((p): p is string => p !== null);
  if (problems.length > 0) {
    const files = envFilesFor(ctx, color);
    throw new RfError("ENV", `the app's environment is not ready: ${problems.join("; ")}`, {
      hint: files.length
        ? `set real values in ${files.join(" or ")} (see [app] required_env), then deploy again`
        : "set [app] env_file to a file with these variables (mode 600), then deploy again",
      exitCode: 2,
    });
  }
  return env;
}
