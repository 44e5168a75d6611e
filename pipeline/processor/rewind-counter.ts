import type { RawRecord } from '../../stages/decode/raw-record.ts';
import type { Item } from '../../stages/stage.ts';

// Batch starts counted at once: the failing batch and the one before it, which overlapped batches may read again and
// fail or settle between the failing batch's attempts; a few more for starts that never come back (a batch whose
// first record went past retention), dropped oldest first.
const MaxCounted = 4;

/**
 * Counts how often batches starting at the same record failed in a row (a shard rewinds to its checkpoint, so a record
 * that breaks its batch comes back first, again and again). Past `limit`, the processor isolates the failing records.
 *
 * Counts are per batch start, and only a batch's own success ends its count: with batches overlapped, the batch
 * before a failing one is in its sink phase during the failing one's attempt, and when it is read again (its sinks
 * failed too) it settles or fails between the failing batch's attempts. Neither may wipe the failing batch's count,
 * or each such attempt costs one more rewind.
 */
export class RewindCounter {
  readonly limit: number;
  /** Failures in a row by batch start, least recently failed first. */
  readonly #failures = new Map<string, number>();

  constructor(limit: number) {
    this.limit = limit;
  }

  /** How many times in a row a batch starting where this one starts has failed. */
  failuresAt(records: readonly Item<RawRecord>[]): number {
    return this.#failures.get(startOf(records)) ?? 0;
  }

  failed(records: readonly Item<RawRecord>[]): void {
    const at = startOf(records);
    this.#set(at, (this.#failures.get(at) ?? 0) + 1);
  }

  /** The store refused something of the batch: the next attempt at it isolates at once, without waiting for the limit. */
  refused(records: readonly Item<RawRecord>[]): void {
    this.#set(startOf(records), this.limit);
  }

  /** The batch went through: its count ends. Other batches' counts stand (see the class comment). */
  succeeded(records: readonly Item<RawRecord>[]): void {
    this.#failures.delete(startOf(records));
  }

  #set(at: string, failures: number): void {
    this.#failures.delete(at);
    this.#failures.set(at, failures);
    for (const oldest of this.#failures.keys()) {
      if (this.#failures.size <= MaxCounted) break;
      this.#failures.delete(oldest);
    }
  }
}

function startOf(records: readonly Item<RawRecord>[]): string {
  const first = records[0]?.origin;
  return first ? `${first.shardId}\n${first.sequenceNumber}` : '';
}
