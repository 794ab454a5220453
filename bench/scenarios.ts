// The measured runs of each phase: deploy + rollback pairs. Each rollback puts the version from before
// its deploy back, so the live version between runs stays the same (the poller checks it).
import { pushVersion, type Origin } from "../scripts/lab/origin.js";
import { asNaive, NAIVE } from "./naive.js";
import type { Bench } from "./operations.js";
import { STEADY_MS } from "./settings.js";
import { say, sleep } from "./waiting.js";

/** rf-agent: `rf-agent deploy` of 2.i.0, then `rf-agent rollback` to `live`; stops at the first failure. */
export async function rfAgentRuns(bench: Bench, origin: Origin, runs: number, live: string): Promise<void> {
  const server = bench.server;
  for (let i = 1; i <= runs; i++) {
    const version = `2.${i}.0`;
    const prepStart = Date.now();
    await pushVersion(server, origin, version);
    const prepMs = Date.now() - prepStart;
    await sleep(STEADY_MS); // the steady state each operation's latency is held against
    const d = await bench.rfOp(i, "deploy", live, version, prepMs);
    if (d.exitCode !== 0 || d.error) {
      say(`stopping the rf-agent phase: deploy failed:\n${d.stderrTail}`);
      break;
    }
    await sleep(STEADY_MS);
    const r = await bench.rfOp(i, "rollback", version, live, 0);
    if (r.exitCode !== 0 || r.error) {
      say(`stopping the rf-agent phase: rollback failed:\n${r.stderrTail}`);
      break;
    }
  }
}

/** naive: `git pull` + restart to 3.i.0, then `git reset --hard` + restart back to `naiveVersion`. */
export async function naiveRuns(
  bench: Bench,
  origin: Origin,
  runs: number,
  naiveVersion: string,
): Promise<void> {
  const server = bench.server;
  for (let i = 1; i <= runs; i++) {
    const version = `3.${i}.0`;
    const prepStart = Date.now();
    await pushVersion(server, origin, version);
    const prev = (
      await server.sh(asNaive(`git -C ${NAIVE.app} rev-parse HEAD`), { reject: true })
    ).stdout.trim();
    const restart = `systemctl restart ${NAIVE.units.join(" ")}`;
    const prepMs = Date.now() - prepStart;
    await sleep(STEADY_MS);
    await bench.naiveOp(
      i,
      "deploy",
      naiveVersion,
      version,
      `set -e; ${asNaive(`git -C ${NAIVE.app} pull -q --ff-only`)}; ${restart}`,
      prepMs,
    );
    await sleep(STEADY_MS);
    await bench.naiveOp(
      i,
      "rollback",
      version,
      naiveVersion,
      `set -e; ${asNaive(`git -C ${NAIVE.app} reset -q --hard ${prev}`)}; ${restart}`,
      0,
    );
  }
}
