import type { EvaluationState } from './track/finding.ts';

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

/** A stage that has nothing to wait for answers at once; one that reads a store answers with a promise. */
export type StageOutput<O> = StageResult<O> | Promise<StageResult<O>>;

/** What a batch's state commit decided, told to every stage once the batch is acknowledged. */
export interface CommittedBatch {
  /** Ids of the events whose effect is now stored: new ones and those another commit had recorded already. */
  readonly eventIds: readonly string[];
  /** Evaluation states Postgres holds for keys another writer had moved: a cache behind on them adopts these. */
  readonly refreshed: ReadonlyMap<string, EvaluationState | null>;
}

/**
 * One step of the chain the processor runs as a loop. `process` returns a result, or a promise of one when it has IO
 * to wait for, so the chain awaits only what is asynchronous. The hooks keep per-shard memory in step with what
 * is stored: `committed` once the batch is acknowledged, `rolledBack` when nothing of it is known to be stored (the
 * shard rewinds, so anything learnt since is no longer true).
 */
export interface Stage<I, O> {
  readonly name: string;
  process(batch: Batch<I>, signal: AbortSignal): StageOutput<O>;
  committed?(batch: CommittedBatch): void;
  rolledBack?(): void;
}
