// Step timing: one log line per step with its duration, and the durations kept for the summary.
import type { StepRecord } from "../core/history.js";
import type { Logger } from "../log.js";

export type { StepRecord };

/** What a step returns when it found nothing to do: it is not recorded as a step that ran. */
export const SKIPPED = Symbol("skipped");

export class Steps {
  readonly records: StepRecord[] = [];
  /** `origin`: performance.now() at the run's start, so each record says when its step began. */
  constructor(
    private readonly log: Logger,
    private readonly origin = performance.now(),
  ) {}

  /** `log`: the run's logger with what it has learned since (color, sha); default the run's own. */
  async run<T>(
    step: string,
    fn: () => Promise<T>,
    fields: Record<string, unknown> = {},
    log: Logger = this.log,
  ): Promise<T> {
    const started = performance.now();
    log.debug({ step, ...fields }, `${step}…`);
    try {
      const result = await fn();
      const ms = Math.round(performance.now() - started);
      if (result === SKIPPED) return result;
      this.records.push({ step, ms, ok: true, at: Math.round(started - this.origin) });
      log.info({ step, ms, ...fields }, `✓ ${step} (${(ms / 1000).toFixed(1)} s)`);
      return result;
    } catch (e) {
      const ms = Math.round(performance.now() - started);
      this.records.push({ step, ms, ok: false, at: Math.round(started - this.origin) });
      log.error({ step, ms, ...fields }, `✗ ${step} failed after ${(ms / 1000).toFixed(1)} s`);
      throw e;
    }
  }
}
