// Python virtualenvs: created from [app] python, pip run only when requirements change.
import { createHash } from "node:crypto";
import { rm } from "node:fs/promises";
import path from "node:path";
import { RfError } from "../errors.js";
import type { Runner, RunAs } from "../exec/runner.js";
import { readIfExists, writeAtomic } from "./files.js";

const MARKER = ".rf-agent-install.json";

interface Marker {
  python: string;
  requirementsHash: string | null;
}

async function readMarker(venv: string): Promise<Marker | null> {
  const text = await readIfExists(path.join(venv, MARKER));
  if (!text) return null;
  try {
    return JSON.parse(text) as Marker;
  } catch {
    return null;
  }
}

/** "3.11.2 /usr/bin/python3.11": what the venv must have been made from. */
export async function pythonIdentity(run: Runner, python: string): Promise<string> {
  const r = await run(python, ["-c", "import sys; print(sys.version.split()[0], sys.executable)"], {
    code: "VENV",
    hint: `set [app] python to an installed interpreter, e.g. /usr/bin/python3 (apt-get install python3 python3-venv)`,
  });
  return r.stdout.trim();
}

export function requirementsHash(requirements: string, python: string, pipArgs: string[]): string {
  return createHash("sha256")
    .update(JSON.stringify([requirements, python, pipArgs]))
    .digest("hex");
}

export interface VenvPlan {
  create: boolean;
  install: boolean;
  python: string;
  hash: string;
}

/** Decides, from the venv's marker, what must be done to bring it to these requirements. */
export async function planVenv(
  identity: string,
  venv: string,
  requirementsText: string,
  pipArgs: string[],
): Promise<VenvPlan> {
  const hash = requirementsHash(requirementsText, identity, pipArgs);
  const marker = await readMarker(venv);
  const venvPython = await readIfExists(path.join(venv, "pyvenv.cfg"));
  const create = !marker || marker.python !== identity || venvPython === null;
  return { create, install: create || marker?.requirementsHash !== hash, python: identity, hash };
}

export async function applyVenv(
  run: Runner,
  plan: VenvPlan,
  opts: { venv: string; python: string; requirementsPath: string; pipArgs: string[]; as: RunAs },
): Promise<void> {
  const { venv, as } = opts;
  if (plan.create) {
    await rm(venv, { recursive: true, force: true });
    await run(opts.python, ["-m", "venv", venv], {
      as,
      code: "VENV",
      hint: "install the venv module for that python: apt-get install python3-venv",
    });
  }
  if (!plan.install) return;
  // The marker goes first so a run killed during pip is redone next time.
  await writeAtomic(
    path.join(venv, MARKER),
    JSON.stringify({ python: plan.python, requirementsHash: null }),
    0o644,
    as,
  );
  await run(
    path.join(venv, "bin", "pip"),
    ["install", "--disable-pip-version-check", "--no-input", "-r", opts.requirementsPath, ...opts.pipArgs],
    {
      as,
      cwd: path.dirname(opts.requirementsPath),
      timeoutMs: 30 * 60_000,
      code: "PIP",
      hint: "fix requirements.txt in the release (or [app] pip_args, e.g. an --index-url the server can reach), then deploy again",
    },
  );
  await writeAtomic(
    path.join(venv, MARKER),
    JSON.stringify({ python: plan.python, requirementsHash: plan.hash }),
    0o644,
    as,
  );
}

export async function requirementsText(checkout: string, requirements: string): Promise<string> {
  const text = await readIfExists(path.join(checkout, requirements));
  if (text === null) {
    throw new RfError("PIP", `the release has no ${requirements}`, {
      hint: `add ${requirements} to the repository, or set [app] requirements to the file it uses`,
    });
  }
  return text;
}
