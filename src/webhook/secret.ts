// The shared webhook secret: systemd's credential copy when run by the unit, else [webhook] secret_file,
// which must be private to its owner. Never logged.
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { RfError } from "../errors.js";

export const MIN_SECRET_LENGTH = 16;

function badSecret(message: string, hint: string): RfError {
  return new RfError("CONFIG", message, { hint });
}

/** Refuses a file group or others may read: whoever reads it can forge deliveries. */
export async function checkSecretFile(file: string): Promise<void> {
  let mode: number;
  try {
    mode = (await stat(file)).mode;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") {
      throw badSecret(
        `webhook secret file ${file} ([webhook] secret_file) does not exist`,
        `run \`rf-agent install\`, which creates one, or: (umask 077; openssl rand -hex 32 > ${file})`,
      );
    }
    throw e;
  }
  if ((mode & 0o077) !== 0) {
    throw badSecret(
      `webhook secret file ${file} is readable by group or others (mode ${(mode & 0o777).toString(8).padStart(4, "0")})`,
      `chmod 600 ${file}`,
    );
  }
}

export async function readSecret(file: string, env: NodeJS.ProcessEnv = process.env): Promise<Buffer> {
  const credentials = env.CREDENTIALS_DIRECTORY;
  const source = credentials ? path.join(credentials, "secret") : file;
  if (!credentials) await checkSecretFile(file);
  const text = (await readFile(source, "utf8")).trim();
  if (text.length < MIN_SECRET_LENGTH) {
    throw badSecret(
      `webhook secret in ${source} is ${text.length === 0 ? "empty" : "too short"} (at least ${MIN_SECRET_LENGTH} characters)`,
      `write a long random one: (umask 077; openssl rand -hex 32 > ${file}), and set the same in the forge's webhook`,
    );
  }
  return Buffer.from(text, "utf8");
}
