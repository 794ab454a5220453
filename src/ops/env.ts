// The app's environment: env files checked (not world-readable, required variables real) before anything starts.
import { stat } from "node:fs/promises";
import { readIfExists } from "../adapters/files.js";
import type { Color } from "../config/types.js";
import type { Context } from "../context.js";
import { judgeRequired, looksSecret, parseEnvFile } from "../core/env-file.js";
import { RfError } from "../errors.js";
import { addSecret } from "../log.js";

export function envFilesFor(ctx: Context, color: Color): string[] {
  const { envFile, colorEnvFiles } = ctx.config.app;
  return [envFile, colorEnvFiles[color]].filter((f): f is string => f !== null);
}

/** The merged variables one color's services get; each file must exist and be private. */
export async function loadAppEnv(ctx: Context, color: Color): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const file of envFilesFor(ctx, color)) {
    const st = await stat(file).catch(() => null);
    if (!st) {
      throw new RfError("ENV", `env file ${file} does not exist`, {
        hint: `create it (install -m 600 /dev/null ${file}) or remove it from the config`,
        exitCode: 2,
      });
    }
    if (st.mode & 0o007) {
      throw new RfError("ENV", `env file ${file} is readable by every user on this host`, {
        hint: `make it private: chown root: ${file} && chmod 600 ${file}`,
        exitCode: 2,
      });
    }
    for (const [k, v] of parseEnvFile((await readIfExists(file)) ?? "")) env[k] = v;
  }
  for (const [k, v] of Object.entries(env))
    if (looksSecret(k) || ctx.config.app.requiredEnv.includes(k)) addSecret(v);
  return env;
}

/** Every required variable present, non-empty, and not a placeholder; the error names them, never their values. */
export async function checkRequiredEnv(ctx: Context, color: Color): Promise<Record<string, string>> {
  const env = await loadAppEnv(ctx, color);
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
