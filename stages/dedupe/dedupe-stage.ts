import type { DecodedEvent } from '../decode/decoded-event.ts';
import type { Batch, CommittedBatch, DroppedRecord, Item, Stage, StageOutput, StageResult } from '../stage.ts';
import { RecentIds } from './recent-ids.ts';

/** The durable record of event ids whose effect was committed (Postgres `processed_events`). */
export interface ProcessedEventIndex {
  /** Of `eventIds`, those already processed. */
  findProcessed(eventIds: readonly string[], signal: AbortSignal): Promise<ReadonlySet<string>>;
}

export interface DedupeOptions {
  readonly index?: ProcessedEventIndex;
  readonly recentCapacity?: number;
}

/**
 * Same event id -> one effect. Checks the batch itself, the ids this shard saw recently, then the durable index
 * (which is what makes a re-read after a crash idempotent). Stale ordering is the track stage's job: it needs state.
 */
export class DedupeStage implements Stage<DecodedEvent, DecodedEvent> {
  readonly name = 'dedupe';
  readonly #recent: RecentIds;
  readonly #index: ProcessedEventIndex | undefined;

  constructor(options: DedupeOptions = {}) {
    // Redeliveries arrive close together; older ones are still caught by the durable index, so a few batches' worth is enough.
    this.#recent = new RecentIds(options.recentCapacity ?? 20_000);
    this.#index = options.index;
  }

  process(batch: Batch<DecodedEvent>, signal: AbortSignal): StageOutput<DecodedEvent> {
    const candidates: Item<DecodedEvent>[] = [];
    const dropped: DroppedRecord[] = [];
    const inBatch = new Set<string>();
    for (const item of batch.items) {
      const id = item.value.event.id;
      if (inBatch.has(id) || this.#recent.has(id)) {
        dropped.push({ origin: item.origin, reason: 'duplicate' });
      } else {
        inBatch.add(id);
        candidates.push(item);
      }
    }
    // Without a durable index to ask, the answer is ready now: no promise on the hot path.
    if (!this.#index || candidates.length === 0) return { kept: candidates, dropped, rejected: [] };
    return this.#withoutProcessed(this.#index, candidates, inBatch, dropped, signal);
  }

  async #withoutProcessed(
    index: ProcessedEventIndex,
    candidates: Item<DecodedEvent>[],
    ids: ReadonlySet<string>,
    dropped: DroppedRecord[],
    signal: AbortSignal,
  ): Promise<StageResult<DecodedEvent>> {
    const processed = await index.findProcessed([...ids], signal);
    if (processed.size === 0) return { kept: candidates, dropped, rejected: [] };
    const kept: Item<DecodedEvent>[] = [];
    for (const item of candidates) {
      if (processed.has(item.value.event.id)) dropped.push({ origin: item.origin, reason: 'duplicate' });
      else kept.push(item);
    }
    return { kept, dropped, rejected: [] };
  }

  /** Only once the batch is committed are its ids truly processed. */
  committed(batch: CommittedBatch): void {
    for (const id of batch.eventIds) this.#recent.add(id);
  }

  /** After a failed commit the shard rewinds; ids remembered since are no longer true. */
  rolledBack(): void {
    this.#recent.clear();
  }
}
