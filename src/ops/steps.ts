// Step timing: one log line per step with its duration, and the durations kept for the summary.
import type { Logger } from "../log.js";

export interface StepRecord {
  step: string;
  ms: number;
  ok: boolean;
}

export class Steps {
  readonly records: StepRecord[] = [];
  // A getter, so lines carry the fields (color, sha) the run learns as it goes.
  constructor(private readonly logger: () => Logger) {}

  private get log(): Logger {
    return this.logger();
  }

  async run<T>(step: string, fn: () => Promise<T>, fields: Record<string, unknown> = {}): Promise<T> {
    const started = performance.now();
    this.log.debug({ step, ...fields }, `${step}…`);
    try {
      const result = await fn();
      const ms = Math.round(performance.now() - started);
      this.records.push({ step, ms, ok: true });
      this.log.info({ step, ms, ...fields }, `✓ ${step} (${(ms / 1000).toFixed(1)} s)`);
      return result;
    } catch (e) {
      const ms = Math.round(performance.now() - started);
      this.records.push({ step, ms, ok: false });
      this.log.error({ step, ms, ...fields }, `✗ ${step} failed after ${(ms / 1000).toFixed(1)} s`);
      throw e;
    }
  }
}
