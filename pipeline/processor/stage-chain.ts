import type { Batch, CommittedBatch, DeadLetterDraft, DroppedRecord, Item, Stage, StageResult } from '../../stages/stage.ts';
import type { Retrack } from '../../stages/track/retrack.ts';

/** Records into and out of one stage of one batch. */
export interface StageCount {
  readonly stage: string;
  readonly into: number;
  readonly kept: number;
  readonly dropped: number;
  readonly rejected: number;
}

/** What a batch became: the last stage's kept records, and every stage's dropped and rejected ones. */
export interface ChainOutcome<O> {
  readonly kept: Item<O>[];
  readonly dropped: readonly DroppedRecord[];
  readonly rejected: readonly DeadLetterDraft[];
  readonly counts: readonly StageCount[];
}

/**
 * The stages of one shard, run as one loop: each stage's kept records are the next one's input; dropped and rejected
 * records are collected from every stage. A stage that answered synchronously is not awaited, so a batch whose keys
 * are all cached costs no promise turn per stage. The lifecycle hooks reach every stage that has them.
 */
export class StageChain<I, O> {
  readonly stages: readonly Stage<unknown, unknown>[];
  /** Present when the chain tracks findings: the state commit needs it for keys another writer moved. */
  readonly retrack: Retrack | undefined;

  constructor(stages: readonly Stage<unknown, unknown>[], retrack?: Retrack) {
    this.stages = stages;
    this.retrack = retrack;
  }

  async run(batch: Batch<I>, signal: AbortSignal): Promise<ChainOutcome<O>> {
    let items: readonly Item<unknown>[] = batch.items;
    const dropped: DroppedRecord[] = [];
    const rejected: DeadLetterDraft[] = [];
    const counts: StageCount[] = [];
    for (const stage of this.stages) {
      const output = stage.process({ shardId: batch.shardId, items }, signal);
      const result: StageResult<unknown> = isPromiseLike(output) ? await output : output;
      counts.push({ stage: stage.name, into: items.length, kept: result.kept.length, dropped: result.dropped.length, rejected: result.rejected.length });
      if (result.dropped.length > 0) dropped.push(...result.dropped);
      if (result.rejected.length > 0) rejected.push(...result.rejected);
      items = result.kept;
    }
    return { kept: items as Item<O>[], dropped, rejected, counts };
  }

  /** The batch is acknowledged: stages learn what is now stored. */
  committed(batch: CommittedBatch): void {
    for (const stage of this.stages) stage.committed?.(batch);
  }

  /** Nothing of the batch is known to be stored: stages forget what it taught them, the shard rewinds. */
  rolledBack(): void {
    for (const stage of this.stages) stage.rolledBack?.();
  }
}

/** The full chain, ending in track: what a processor runs. */
export type TrackingChain<I, O> = StageChain<I, O> & { readonly retrack: Retrack };

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return value instanceof Promise || (typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function');
}
