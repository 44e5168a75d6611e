import { compareSequenceNumbers } from './sequence-number.ts';

/**
 * Yields the highest sequence number acknowledged with no unacknowledged one below it (Benthos' capped checkpointer).
 * Batches are tracked in read order and may be acknowledged in any order.
 */
export class CheckpointTracker {
  readonly #pending: { readonly last: string; acked: boolean }[] = [];
  #checkpoint: string | null;

  constructor(initial: string | null) {
    this.#checkpoint = initial;
  }

  /** Registers a batch read from the shard, by its last sequence number. Must be called in read order. */
  track(lastSequenceNumber: string): void {
    const previous = this.#pending.at(-1)?.last ?? this.#checkpoint;
    if (previous !== null && compareSequenceNumbers(lastSequenceNumber, previous) <= 0) {
      throw new RangeError(`batch ending at ${lastSequenceNumber} is not after ${previous}`);
    }
    this.#pending.push({ last: lastSequenceNumber, acked: false });
  }

  /** What the checkpoint would be once this batch is acknowledged, without acknowledging it. */
  checkpointIfAcked(lastSequenceNumber: string): string | null {
    let checkpoint = this.#checkpoint;
    for (const batch of this.#pending) {
      if (!batch.acked && batch.last !== lastSequenceNumber) break;
      checkpoint = batch.last;
    }
    return checkpoint;
  }

  /** Acknowledges a batch; returns the new checkpoint (unchanged while an older batch is still unacknowledged). */
  ack(lastSequenceNumber: string): string | null {
    const batch = this.#pending.find((b) => b.last === lastSequenceNumber);
    if (!batch) throw new RangeError(`batch ending at ${lastSequenceNumber} is not tracked`);
    batch.acked = true;
    while (this.#pending[0]?.acked) this.#checkpoint = this.#pending.shift()!.last;
    return this.#checkpoint;
  }

  get checkpoint(): string | null {
    return this.#checkpoint;
  }

  get inFlight(): number {
    return this.#pending.length;
  }
}
