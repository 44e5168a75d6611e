import type { EnrichedEvent } from '../../../stages/enrich/enriched-event.ts';
import type { DeadLetterDraft, Item } from '../../../stages/stage.ts';
import type { EvaluationState, Finding } from '../../../stages/track/finding.ts';
import type { Retrack } from '../../../stages/track/retrack.ts';
import type { TrackedEvent } from '../../../stages/track/tracked-event.ts';
import type { ShardCheckpoint } from '../../types/shard-checkpoint.ts';

/** Everything one batch changes, committed in one transaction. */
export interface StateCommit {
  /** kinesis | replay | redrive: dead letters remember where bad records came from. */
  readonly source: string;
  /** The batch as the writer tracked it from its cache (with `previous` set): Postgres decides what of it holds. */
  readonly tracked: readonly Item<TrackedEvent>[];
  readonly deadLetters: readonly DeadLetterDraft[];
  /** Null when there is no stream position to move (replay, redrive). */
  readonly checkpoint: ShardCheckpoint | null;
  /**
   * 'write' (default): the checkpoint moves in this transaction. 'verify': only the lease is checked here; sinks
   * written after the commit come first, then `settle` moves the checkpoint.
   */
  readonly checkpointMode?: 'write' | 'verify';
  /** How to track a key again when another writer moved it; without it such a batch fails (StateConflictError). */
  readonly retrack?: Retrack;
}

export interface CommitSummary {
  readonly evaluations: number;
  readonly opened: number;
  readonly resolved: number;
  /** Dead letters stored (inserted now, or the same letter stored by an earlier read of the same record). */
  readonly deadLetters: number;
  readonly notifications: number;
}

/** What the commit decided: the effects that hold, in batch order, and what the writer must learn from Postgres. */
export interface CommitResult extends CommitSummary {
  /** The effects committed, one per event committed by this transaction, in batch order. */
  readonly tracked: readonly Item<TrackedEvent>[];
  /** Events another writer had already committed: no effect here (their first effect stands). */
  readonly duplicates: readonly Item<EnrichedEvent>[];
  /** Keys another writer had moved, tracked again from what Postgres held: the writer's cache must take these states. */
  readonly refreshed: ReadonlyMap<string, EvaluationState | null>;
}

/** After the sinks written past the commit: their dead letters and the checkpoint, in one transaction. */
export interface StateSettle {
  readonly source: string;
  readonly deadLetters: readonly DeadLetterDraft[];
  readonly checkpoint: ShardCheckpoint | null;
  /**
   * Findings whose OpenSearch document was just written, as written: their escalation and exception facts must be
   * applied again, and so must the owner and account name where Postgres holds newer ones (an accounts sync).
   */
  readonly rewrittenFindings: readonly RewrittenFinding[];
}

/** What a finding document was written with, of the fields the finding facts sync owns. */
export type RewrittenFinding = Pick<Finding, 'findingId' | 'owner' | 'accountName'>;
