// Reading agent.ini: where it is, and how it becomes a validated Config or one RfError listing every problem.
import { readFile } from "node:fs/promises";
import { RfError } from "../errors.js";
import { buildConfig } from "./build.js";
import { CONFIG_PATH_ENV, DEFAULT_CONFIG_PATH } from "./defaults.js";
import { configError, type Problem } from "./problems.js";
import { readConfigText } from "./read.js";
import type { Config } from "./types.js";

export { CONFIG_PATH_ENV, DEFAULT_CONFIG_PATH } from "./defaults.js";

/** ini text to a validated Config; throws RfError("CONFIG") listing every problem found. */
export function parseConfig(text: string, source: string): Config {
  const problems: Problem[] = [];
  const raw = readConfigText(text.replace(/^\uFEFF/, ""), problems);
  const config = buildConfig(raw, source, problems);
  if (config === undefined) throw configError(source, problems);
  return config;
}

export async function loadConfig(path: string): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw unreadable(path, e);
  }
  return parseConfig(text, path);
}

/** --config wins over $RF_AGENT_CONFIG, which wins over the default path. */
export function resolveConfigPath(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  if (flag) return flag;
  const fromEnv = env[CONFIG_PATH_ENV];
  return fromEnv ? fromEnv : DEFAULT_CONFIG_PATH;
}

function unreadable(path: string, e: unknown): RfError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const elsewhere = `or point rf-agent at another file with --config PATH or ${CONFIG_PATH_ENV}=PATH`;
  switch (code) {
    case "ENOENT":
      return new RfError("CONFIG", `config file ${path} does not exist`, {
        hint: `create it (every key is documented in README.md under "Configuration"; only [app] repo is required), ${elsewhere}`,
        cause: e,
      });
    case "EACCES":
    case "EPERM":
      return new RfError("CONFIG", `config file ${path} is not readable by this user`, {
        hint: `run rf-agent as root (sudo), or make ${path} readable, ${elsewhere}`,
        cause: e,
      });
    case "EISDIR":
      return new RfError("CONFIG", `config path ${path} is a directory, not a file`, {
        hint: `pass the ini file itself, e.g. ${DEFAULT_CONFIG_PATH}, ${elsewhere}`,
        cause: e,
      });
    default:
      return new RfError(
        "CONFIG",
        `cannot read config file ${path}: ${(e as Error | undefined)?.message ?? String(e)}`,
        {
          hint: `check that ${path} is a readable file, ${elsewhere}`,
          cause: e,
        },
      );
  }
}
