// Shared fixtures: the documented example file, and a way to get a config's problem lines.
import { expect } from "vitest";
import { isRfError } from "../../../src/errors.js";
import { parseConfig } from "../../../src/config/load.js";

export const SOURCE = "/etc/rf-agent/agent.ini";
export const REPO = "https://git.example.com/rio-futuro.git";
export const MINIMAL = `[app]\nrepo = ${REPO}\n`;

/** The example from the task description, comments and all. */
export const FULL_EXAMPLE = `[app]
name = rio-futuro                 ; REQUIRED in practice? -> no: default "app". names units and files; must match ^[a-z][a-z0-9-]{0,39}$
repo = https://git.example.com/rio-futuro.git   ; REQUIRED (no default): anything git can fetch, a local absolute path too
branch = main
root = /srv/rio-futuro            ; default /srv/<name>; must be absolute, normalized, not "/"
user = rio                        ; default: same as name; valid unix user name ^[a-z_][a-z0-9_-]{0,31}$, not root
python = /usr/bin/python3         ; absolute path
requirements = requirements.txt   ; relative path inside the checkout (no "..", not absolute)
pip_args =                        ; extra pip arguments, split shell-like (respect simple '...' and "..." quotes) into string[]
env_file =                        ; optional absolute path, empty -> null

; one [service.NAME] section per service; with NO [service.*] sections these two defaults apply
[service.api]
command = uvicorn backend.main:app --host 127.0.0.1 --port {port}
ports = 8000, 8001                ; blue, green
health = /health
route = /api/                     ; nginx location that proxies to it
websocket = false

[service.web]
command = streamlit run Home.py --server.port {port} --server.address 127.0.0.1 --server.headless true
ports = 8501, 8502
health = /_stcore/health
route = /
websocket = true

[health]
timeout = 60                      ; seconds, > 0
interval = 0.1                    ; seconds, > 0
stable = 0.5                      ; seconds >= 0, < timeout
successes = 3                     ; integer >= 1

[nginx]
listen = 80                       ; port 1..65535
server_name = _                   ; nginx server_name(s), no ';' '{' '}' or quotes

[switch]
grace = 5                         ; seconds >= 0
drain = 30                        ; seconds >= 0
standby = 0                       ; seconds >= 0
watch = 10                        ; seconds >= 0
`;

/** Minimal file plus extra lines (sections and keys) appended. */
export const withLines = (...lines: string[]): string => `${MINIMAL}${lines.join("\n")}\n`;

/** The problem lines a config text is rejected with; fails the test if it is accepted. */
export function problemsOf(text: string): string[] {
  try {
    parseConfig(text, SOURCE);
  } catch (e) {
    if (!isRfError(e)) throw e;
    expect(e.code).toBe("CONFIG");
    if (e.details !== undefined) return e.details.split("\n");
    return [e.message.replace(`config ${SOURCE} is invalid: `, "")];
  }
  throw new Error(`expected the config to be rejected:\n${text}`);
}

/** The single problem a config text is rejected with. */
export function problemOf(text: string): string {
  const problems = problemsOf(text);
  expect(problems).toHaveLength(1);
  return problems[0]!;
}
