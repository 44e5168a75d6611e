import type { DecodedEvent } from '../decode/decode-stage.ts';
import type { Batch, DroppedRecord, Item, Stage, StageResult } from '../stage.ts';
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

  async process(batch: Batch<DecodedEvent>, signal: AbortSignal): Promise<StageResult<DecodedEvent>> {
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
    let kept = candidates;
    if (this.#index && candidates.length > 0) {
      const processed = await this.#index.findProcessed([...inBatch], signal);
      if (processed.size > 0) {
        kept = [];
        for (const item of candidates) {
          if (processed.has(item.value.event.id)) dropped.push({ origin: item.origin, reason: 'duplicate' });
          else kept.push(item);
        }
      }
    }
    return { kept, dropped, rejected: [] };
  }

  /** Called once the batch is committed: only then are its ids truly processed. */
  remember(eventIds: Iterable<string>): void {
    for (const id of eventIds) this.#recent.add(id);
  }

  /** After a failed commit the shard rewinds; ids remembered since are no longer true. */
  forget(): void {
    this.#recent.clear();
  }
}
