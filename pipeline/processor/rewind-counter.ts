import type { RawRecord } from '../../stages/decode/raw-record.ts';
import type { Item } from '../../stages/stage.ts';

/**
 * Counts how often batches starting at the same record failed in a row (a shard rewinds to its checkpoint, so a record
 * that breaks its batch comes back first, again and again). Past `limit`, the processor isolates the failing records.
 */
export class RewindCounter {
  readonly limit: number;
  #at: string | null = null;
  #failures = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** How many times in a row a batch starting where this one starts has failed. */
  failuresAt(records: readonly Item<RawRecord>[]): number {
    return this.#at !== null && this.#at === startOf(records) ? this.#failures : 0;
  }

  failed(records: readonly Item<RawRecord>[]): void {
    const at = startOf(records);
    if (at === this.#at) this.#failures++;
    else {
      this.#at = at;
      this.#failures = 1;
    }
  }

  /** The store refused something of the batch: the next attempt at it isolates at once, without waiting for the limit. */
  refused(records: readonly Item<RawRecord>[]): void {
    this.#at = startOf(records);
    this.#failures = this.limit;
  }

  succeeded(): void {
    this.#at = null;
    this.#failures = 0;
  }
}

function startOf(records: readonly Item<RawRecord>[]): string {
  const first = records[0]?.origin;
  return first ? `${first.shardId}\n${first.sequenceNumber}` : '';
}
