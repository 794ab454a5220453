// How to run this very rf-agent again, from a unit's ExecStart= or the standby's expiry timer.
import path from "node:path";
import { isSingleExecutable } from "../core/template.js";

/**
 * The argv prefix that starts this rf-agent: the single executable alone (its argv[1] is only the
 * name it was called by, and running it as `rf-agent rf-agent ...` would make that the command),
 * or this node with this script.
 */
export function selfCommand(
  sea = isSingleExecutable(),
  execPath = process.execPath,
  script = process.argv[1],
): [string] | [string, string] {
  return sea ? [execPath] : [execPath, path.resolve(script ?? "rf-agent")];
}
