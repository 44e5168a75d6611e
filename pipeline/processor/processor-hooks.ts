/** One batch as the hooks see it. */
export interface HookedBatch {
  readonly shardId: string;
  readonly source: string;
  /** Ids of the events the stages kept, in batch order. */
  readonly eventIds: readonly string[];
}

/**
 * Points where a test holds a writer to force an interleaving with another (issue 17: `replay` or `redrive` beside
 * `run`), instead of hoping timing produces it. Production passes none.
 */
export interface ProcessorHooks {
  /** The stages have tracked the batch from this writer's cache; the state commit comes next. */
  beforeCommit?(batch: HookedBatch): Promise<void>;
  /** The state commit is done; the sinks written past it (OpenSearch) come next. */
  afterCommit?(batch: HookedBatch): Promise<void>;
}
