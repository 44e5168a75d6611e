import type { DeadLetterDraft, Item } from '../../../stages/stage.ts';
import type { TrackedEvent } from '../../../stages/track/track-stage.ts';

/** Proof that this worker still owns the shard; the checkpoint write fails without it. */
export interface ShardCheckpoint {
  readonly streamName: string;
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly owner: string;
  readonly leaseToken: string;
}

/** Everything one batch changes, committed in one transaction together with its checkpoint. */
export interface StateCommit {
  /** kinesis | replay | redrive: dead letters remember where bad records came from. */
  readonly source: string;
  readonly tracked: readonly Item<TrackedEvent>[];
  readonly deadLetters: readonly DeadLetterDraft[];
  /** Null when there is no stream position to move (replay, redrive). */
  readonly checkpoint: ShardCheckpoint | null;
}

export interface CommitSummary {
  readonly evaluations: number;
  readonly opened: number;
  readonly resolved: number;
  readonly deadLetters: number;
  readonly notifications: number;
}
