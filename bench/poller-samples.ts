// The host side of bench/poller.ts: starts it inside the server and keeps every answer it reports.
import path from "node:path";
import { eachLine } from "../scripts/lab/lines.js";
import { REPO_ROOT, type InnerProcess, type TestServer } from "../scripts/lab/server.js";
import { POLL_MS } from "./settings.js";

export interface Sample {
  k: "v" | "h";
  /** epoch ms sent / answered */
  s: number;
  r: number;
  st: number;
  v: string;
}

export class Poller {
  readonly samples: Sample[] = [];
  readonly proc: InnerProcess;
  private last: Partial<Record<"v" | "h", Sample>> = {};

  constructor(server: TestServer) {
    this.proc = server.spawn(
      "node",
      ["--import", "tsx", path.join(REPO_ROOT, "bench", "poller.ts"), "http://127.0.0.1:80", String(POLL_MS)],
      { cwd: REPO_ROOT },
    );
    void eachLine(this.proc.stdout, (line) => {
      try {
        const [k, s, r, st, v] = JSON.parse(line) as [Sample["k"], number, number, number, string];
        const sample = { k, s, r, st, v };
        this.samples.push(sample);
        this.last[k] = sample;
      } catch {
        // not ours
      }
    });
  }

  latest(k: "v" | "h"): Sample | undefined {
    return this.last[k];
  }

  between(k: "v" | "h", from: number, to: number): Sample[] {
    return this.samples.filter((x) => x.k === k && x.s >= from && x.s < to);
  }

  async stop(): Promise<void> {
    this.proc.kill("SIGTERM");
    await this.proc;
  }
}
