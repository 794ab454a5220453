// Deliveries already turned into deploy requests, so a redelivery (same id, or the very same body
// under a new id) is not deployed twice. Kept on disk, capped, newest last.
import { writeAtomic, readIfExists } from "../adapters/files.js";

export interface Deliveries {
  has(keys: string[]): boolean;
  /** Marks the keys seen at once (so concurrent duplicates lose), then persists them. */
  remember(keys: string[]): Promise<void>;
  forget(keys: string[]): void;
}

export const DELIVERIES_CAP = 1000;

export class DeliveryLog implements Deliveries {
  private saving: Promise<void> = Promise.resolve();

  private constructor(
    private readonly file: string | null,
    private keys: string[],
    private readonly cap: number,
  ) {}

  /** A corrupt or missing file starts an empty log: dedupe is a safety net, not a source of truth. */
  static async open(file: string | null, cap = DELIVERIES_CAP): Promise<DeliveryLog> {
    let keys: string[] = [];
    const text = file ? await readIfExists(file) : null;
    if (text) {
      try {
        const parsed: unknown = JSON.parse(text);
        if (Array.isArray(parsed)) keys = parsed.filter((k): k is string => typeof k === "string");
      } catch {
        keys = [];
      }
    }
    return new DeliveryLog(file, keys.slice(-cap), cap);
  }

  get size(): number {
    return this.keys.length;
  }

  has(keys: string[]): boolean {
    return keys.some((k) => this.keys.includes(k));
  }

  remember(keys: string[]): Promise<void> {
    this.keys = [...this.keys.filter((k) => !keys.includes(k)), ...keys].slice(-this.cap);
    return this.save();
  }

  forget(keys: string[]): void {
    this.keys = this.keys.filter((k) => !keys.includes(k));
    void this.save().catch(() => undefined);
  }

  flush(): Promise<void> {
    return this.saving;
  }

  // One write at a time, each of the then-current list.
  private save(): Promise<void> {
    const file = this.file;
    if (!file) return Promise.resolve();
    const next = this.saving
      .catch(() => undefined)
      .then(() => writeAtomic(file, JSON.stringify(this.keys) + "\n", 0o600));
    this.saving = next;
    return next;
  }
}
