/** Where a record came from: enough to find it again in the stream and to checkpoint past it. */
export interface RecordOrigin {
  readonly shardId: string;
  readonly sequenceNumber: string;
}

export interface Item<T> {
  readonly origin: RecordOrigin;
  readonly value: T;
}

export interface Batch<T> {
  readonly shardId: string;
  readonly items: readonly Item<T>[];
}

/** A record that cannot be processed: kept with its raw bytes so it can be inspected and re-driven. */
export interface DeadLetterDraft {
  readonly origin: RecordOrigin;
  readonly stage: string;
  readonly reason: string;
  readonly raw: Uint8Array;
}

export interface DroppedRecord {
  readonly origin: RecordOrigin;
  readonly reason: 'duplicate';
}

/** Kept records go on; dropped ones count as acknowledged; rejected ones become dead letters, then acknowledged. */
export interface StageResult<O> {
  readonly kept: Item<O>[];
  readonly dropped: DroppedRecord[];
  readonly rejected: DeadLetterDraft[];
}

export interface Stage<I, O> {
  readonly name: string;
  process(batch: Batch<I>, signal: AbortSignal): Promise<StageResult<O>>;
}
