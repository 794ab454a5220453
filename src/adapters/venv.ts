// Python virtualenvs: created from [app] python, pip run only when requirements change. pip and
// venv run as the app user in a sandbox; rf-agent's record of what a venv holds is root's own,
// under its state directory, never inside the venv the app user can change.
import { createHash } from "node:crypto";
import { RfError } from "../errors.js";
import type { Runner, RunAs } from "../exec/runner.js";
import { readBeneath, readIfExists, writeAtomic } from "./files.js";

interface Marker {
  python: string;
  requirementsHash: string | null;
}

async function readMarker(markerPath: string): Promise<Marker | null> {
  const text = await readIfExists(markerPath);
  if (!text) return null;
  try {
    return JSON.parse(text) as Marker;
  } catch {
    return null;
  }
}

/**
 * "3.11.2 /usr/bin/python3.11": what the venv must have been made from. Run as root, so isolated
 * (-I: no current directory or PYTHON* variables on its path) and from `/`.
 */
// Run as root: -I (isolated) keeps the directory rf-agent was started from (a venv.py there) off
// sys.path and ignores PYTHON* variables and the user site; cwd / besides.
export const PYTHON_CHECK = ["-I", "-c", "import venv, ensurepip"];

/** Whether this interpreter runs and has the venv module (and ensurepip, which venv needs). */
export async function hasVenvModule(run: Runner, python: string): Promise<boolean> {
  const r = await run(python, PYTHON_CHECK, { cwd: "/", reject: false }).catch(() => null);
  return r?.exitCode === 0;
}

export async function pythonIdentity(run: Runner, python: string): Promise<string> {
  const r = await run(python, ["-I", "-c", "import sys; print(sys.version.split()[0], sys.executable)"], {
    cwd: "/",
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

/** Decides, from rf-agent's marker for the venv, what must be done to bring it to these requirements. */
export async function planVenv(
  identity: string,
  venv: string,
  markerPath: string,
  requirementsText: string,
  pipArgs: string[],
): Promise<VenvPlan> {
  const hash = requirementsHash(requirementsText, identity, pipArgs);
  const marker = await readMarker(markerPath);
  const venvPython = await readBeneath(venv, "pyvenv.cfg");
  const create = !marker || marker.python !== identity || venvPython === null;
  return { create, install: create || marker?.requirementsHash !== hash, python: identity, hash };
}

export interface VenvTarget {
  venv: string;
  markerPath: string;
  python: string;
  checkout: string;
  requirements: string;
  pipArgs: string[];
  /** pip's cache: the only other place pip may write. */
  cacheDir: string;
  as: RunAs;
  app: string;
}

export async function applyVenv(run: Runner, plan: VenvPlan, t: VenvTarget): Promise<void> {
  const sandbox = (what: string, writable: string[]) => ({ unit: `rf-agent-${t.app}-${what}`, writable });
  if (plan.create) {
    // --clear empties the directory as the app user: root never deletes inside the app's tree.
    await run(t.python, ["-I", "-m", "venv", "--clear", t.venv], {
      as: t.as,
      cwd: "/",
      sandbox: sandbox("venv", [t.venv]),
      timeoutMs: 10 * 60_000,
      code: "VENV",
      hint: "install the venv module for that python: apt-get install python3-venv",
    });
  }
  if (!plan.install) return;
  // The marker goes first so a run killed during pip is redone next time.
  await writeAtomic(t.markerPath, JSON.stringify({ python: plan.python, requirementsHash: null }), 0o600);
  await run(
    `${t.venv}/bin/pip`,
    ["install", "--disable-pip-version-check", "--no-input", "-r", t.requirements, ...t.pipArgs],
    {
      as: t.as,
      cwd: t.checkout,
      sandbox: sandbox("pip", [t.venv, t.cacheDir]),
      timeoutMs: 30 * 60_000,
      code: "PIP",
      hint: "fix requirements.txt in the release (or [app] pip_args, e.g. an --index-url the server can reach), then deploy again",
    },
  );
  await writeAtomic(
    t.markerPath,
    JSON.stringify({ python: plan.python, requirementsHash: plan.hash }),
    0o600,
  );
}

/** The error for a requirements file the release does not hold as a plain file. */
export function requirementsProblem(
  requirements: string,
  why: "absent" | "not a regular file" | "too large",
): RfError {
  const message =
    why === "absent"
      ? `the release has no ${requirements}`
      : why === "too large"
        ? `${requirements} in the release is larger than rf-agent reads (1 MiB)`
        : `${requirements} in the release is not a regular file (a symlink or a directory)`;
  return new RfError("PIP", message, {
    hint:
      why === "absent"
        ? `add ${requirements} to the repository, or set [app] requirements to the file it uses`
        : `commit ${requirements} as a plain file inside the repository, then deploy again`,
  });
}
