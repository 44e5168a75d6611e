import type { Logger } from 'pino';
import { toStorableText } from '../../schemas/storable-text.ts';
import type { RawRecord } from '../../stages/decode/raw-record.ts';
import type { EnrichedEvent } from '../../stages/enrich/enriched-event.ts';
import type { DeadLetterDraft, DroppedRecord, Item } from '../../stages/stage.ts';
import type { Transition, TrackedEvent } from '../../stages/track/tracked-event.ts';
import { deliver } from '../sinks/deliver.ts';
import type { Sink } from '../sinks/sink.ts';
import { SinkError } from '../sinks/sink.ts';
import type { CommitResult, CommitSummary } from '../sinks/postgres/state-commit.ts';
import type { ShardCheckpoint } from '../types/shard-checkpoint.ts';
import type { StateCommitter } from '../sinks/postgres/state-committer.ts';
import { StateConflictError } from '../sinks/postgres/state-conflict-error.ts';
import type { PipelineMetrics } from '../metrics/pipeline-metrics.ts';
import { failureKind, isContention } from './failure-kind.ts';
import type { FailureKind } from './failure-kind.ts';
import type { HookedBatch, ProcessorHooks } from './processor-hooks.ts';
import { RewindCounter } from './rewind-counter.ts';
import type { StageCount, TrackingChain } from './stage-chain.ts';

export interface ProcessorDependencies {
  /** This shard's stages (buildStageChain): they hold the shard's recent memory. */
  readonly chain: TrackingChain<RawRecord, TrackedEvent>;
  readonly stateCommitter: Pick<StateCommitter, 'commit' | 'settle' | 'firstEffects'>;
  /** Idempotent sinks written once Postgres has decided the batch's effects (OpenSearch). */
  readonly sinks: readonly Sink<TrackedEvent>[];
  readonly logger: Logger;
  readonly metrics?: PipelineMetrics;
  /** Test hooks that force interleavings between writers. */
  readonly hooks?: ProcessorHooks;
  /** Failures in a row at the same first record before the failing records are isolated (default 3). */
  readonly rewindLimit?: number;
}

/** Optional behaviour of one `process` call; without it, a batch is processed as the stream's batches are. */
export interface ProcessOptions {
  /**
   * Return the batch's dead letters in the summary instead of storing them: `redrive` re-processes dead letters and
   * marks the ones that fail again itself, rather than storing a second copy of each.
   */
  readonly returnDeadLetters?: boolean;
}

export interface BatchSummary extends CommitSummary {
  readonly records: number;
  /** Events whose effect this batch committed. */
  readonly accepted: number;
  /** Events already committed (by this writer earlier, or by another one): their first effect stands. */
  readonly duplicates: number;
  readonly transitions: Readonly<Record<Transition, number>>;
  /** With `returnDeadLetters`: the dead letters of the batch, not stored. */
  readonly returnedDeadLetters?: readonly DeadLetterDraft[];
}

// A deadlock or serialization failure between writers: the transaction is simply tried again, this many times.
const ContentionRetries = 3;

/**
 * The stage chain (decode -> dedupe -> enrich -> scope -> track), then the state commit, then every idempotent sink,
 * then the checkpoint. One instance per shard, with that shard's chain: its stages hold the shard's recent memory and
 * hear of each batch's outcome through their lifecycle hooks (`committed`, `rolledBack`).
 *
 * Postgres decides first, the sinks follow (issue 17): the commit arbitrates between writers of the same evaluation key
 * and returns the effects that hold, so OpenSearch only ever receives committed effects (a writer whose cache was
 * behind never indexes the finding it wrongly believed in). The checkpoint moves after the sinks, in a second small
 * transaction: a crash in between re-reads the batch, whose events are then duplicates whose first effects are
 * rebuilt from Postgres and re-sent, so nothing is lost and nothing is overwritten.
 *
 * A record the store refuses (issue 9) cannot stop the shard: a commit failing with a data error is split until the
 * record is found, that record becomes a dead letter, the rest commits. A batch failing at the same first record
 * `rewindLimit` times in a row for any other non-transient reason is isolated the same way.
 */
export class BatchProcessor {
  readonly #deps: ProcessorDependencies;
  readonly #chain: ProcessorDependencies['chain'];
  readonly #rewinds: RewindCounter;

  constructor(deps: ProcessorDependencies) {
    this.#deps = deps;
    this.#chain = deps.chain;
    this.#rewinds = new RewindCounter(deps.rewindLimit ?? 3);
  }

  async process(
    shardId: string,
    records: readonly Item<RawRecord>[],
    checkpoint: ShardCheckpoint | null,
    source: string,
    signal: AbortSignal,
    options: ProcessOptions = {},
  ): Promise<BatchSummary> {
    const failures = this.#rewinds.failuresAt(records);
    const isolate = failures >= this.#rewinds.limit;
    if (isolate) {
      this.#deps.logger.error(
        { failures, sequenceNumber: records[0]?.origin.sequenceNumber, records: records.length },
        'batch keeps failing at the same record: isolating the records that fail into dead letters',
      );
    }
    try {
      const summary = await this.#settle({ shardId, checkpoint, source, signal, returnDeadLetters: options.returnDeadLetters ?? false }, records, isolate);
      this.#rewinds.succeeded(records);
      return summary;
    } catch (error) {
      this.#deps.metrics?.batchFailures.inc({ shard: shardId });
      // Nothing of this batch is known to be committed: forget what it taught the stages, the shard rewinds.
      this.#forget();
      if (!signal.aborted && failureKind(error) !== 'transient') this.#rewinds.failed(records);
      throw error;
    }
  }

  /**
   * The stream's form of `process` (the shard worker's, nobody else's): it returns once the batch's stages and state
   * commit are done, with its sink phase (OpenSearch, then the settle that moves the checkpoint) still to run, so the
   * worker can run the next batch's stages and commit while this one's sinks are written. The stages learn what the
   * commit decided right away: Postgres has decided it, whatever the sinks do next.
   *
   * The caller runs one sink phase at a time, in batch order, and on any failure waits for everything in flight to end
   * and then calls `rewound()` before reading again: a sink phase that fails does not clear the stages itself, since
   * the next batch's stages may be running, and what they learn after a clear would survive the rewind (an id in the
   * dedupe memory is dropped on the re-read, so its committed effect would never reach the sinks).
   *
   * 'isolate' means the batch needs the un-overlapped path (its records keep failing, or the store refused one):
   * nothing of it is committed; the caller settles the batch in its sink phase, then calls `process` with it.
   */
  async commitAhead(shardId: string, records: readonly Item<RawRecord>[], checkpoint: ShardCheckpoint, source: string, signal: AbortSignal): Promise<PendingSinks | 'isolate'> {
    if (this.#rewinds.failuresAt(records) >= this.#rewinds.limit) return 'isolate';
    const batch: BatchContext = { shardId, checkpoint, source, signal, returnDeadLetters: false };
    let part: CommittedPart;
    try {
      part = await this.#withContentionRetries(batch, () => this.#commitPart(batch, records, []));
    } catch (error) {
      this.#forget();
      if (!signal.aborted && failureKind(error) === 'data') {
        this.#deps.logger.warn({ err: error, records: records.length }, 'batch refused: settling the batch before it, then looking for the records that cause it');
        return 'isolate';
      }
      this.#failed(shardId, records, error, signal);
      throw error;
    }
    this.#learn(part);
    return {
      settle: async () => {
        try {
          const summary = await this.#sinkPart(batch, part);
          // This batch's count only: the batch after it may have failed already, or fail again after a rewind, and
          // each of its failures counts towards isolating it whichever of the two ends first.
          this.#rewinds.succeeded(records);
          return summary;
        } catch (error) {
          this.#failed(shardId, records, error, signal);
          // As `process` would: a refused record is looked for at the next attempt (un-overlapped), not after the limit.
          if (!signal.aborted && failureKind(error) === 'data') this.#rewinds.refused(records);
          throw error;
        }
      },
    };
  }

  /** The shard rewinds to its checkpoint after a failure of `commitAhead` or a sink phase: the stages forget what they learnt. */
  rewound(): void {
    this.#forget();
  }

  #failed(shardId: string, records: readonly Item<RawRecord>[], error: unknown, signal: AbortSignal): void {
    this.#deps.metrics?.batchFailures.inc({ shard: shardId });
    if (!signal.aborted && failureKind(error) !== 'transient') this.#rewinds.failed(records);
  }

  #forget(): void {
    this.#chain.rolledBack();
  }

  /** The batch, and if a record of it makes the store refuse it, its records apart. */
  async #settle(batch: BatchContext, records: readonly Item<RawRecord>[], isolate: boolean): Promise<BatchSummary> {
    try {
      return await this.#attempt(batch, records, []);
    } catch (error) {
      if (batch.signal.aborted || !isolable(failureKind(error), isolate)) throw error;
      this.#forget();
      this.#deps.logger.warn({ err: error, records: records.length }, 'batch refused: looking for the records that cause it');
      return this.#isolate(batch, records, isolate, error);
    }
  }

  /**
   * Splits the batch in halves, recursively, committing every part that goes through (without the checkpoint) and
   * keeping each single record that still fails as a dead letter; then the dead letters and the checkpoint commit
   * together. When every record of a sizeable batch fails on its own, the cause is not a record (a broken schema, a
   * bug): nothing is dead-lettered and the failure is thrown, so the shard stalls visibly instead.
   */
  async #isolate(batch: BatchContext, records: readonly Item<RawRecord>[], isolate: boolean, firstError: unknown): Promise<BatchSummary> {
    const refused: DeadLetterDraft[] = [];
    const parts: BatchSummary[] = [];
    const part = { ...batch, checkpoint: null };
    const split = async (subset: readonly Item<RawRecord>[], error: unknown): Promise<void> => {
      if (subset.length === 1) {
        refused.push(refusedLetter(subset[0]!, error));
        return;
      }
      const middle = Math.ceil(subset.length / 2);
      for (const half of [subset.slice(0, middle), subset.slice(middle)]) {
        try {
          parts.push(await this.#attempt(part, half, []));
        } catch (halfError) {
          if (batch.signal.aborted || !isolable(failureKind(halfError), isolate)) throw halfError;
          this.#forget();
          await split(half, halfError);
        }
      }
    };
    await split(records, firstError);
    if (records.length >= 8 && refused.length === records.length) {
      throw new Error(`every one of the batch's ${records.length} records fails on its own, so the cause is not a record: ${describe(firstError)}`, { cause: firstError });
    }
    this.#deps.logger.error(
      { deadLetters: refused.length, records: records.length, sequenceNumbers: refused.slice(0, 10).map((letter) => letter.origin.sequenceNumber), reason: refused[0]?.reason },
      'records refused by the store dead-lettered; the rest of the batch is committed',
    );
    const last = await this.#attempt(batch, [], refused);
    return combine(records.length, [...parts, last]);
  }

  /** One attempt at the whole pipeline for these records; a deadlock between writers is simply tried again. */
  async #attempt(batch: BatchContext, records: readonly Item<RawRecord>[], extraDeadLetters: readonly DeadLetterDraft[]): Promise<BatchSummary> {
    return this.#withContentionRetries(batch, () => this.#once(batch, records, extraDeadLetters));
  }

  /** `run` again after a deadlock or serialization failure; the stages forget the attempt unless `run` never ran them. */
  async #withContentionRetries<T>(batch: BatchContext, run: () => Promise<T>, ranStages = true): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await run();
      } catch (error) {
        if (attempt > ContentionRetries || batch.signal.aborted || !(isContention(error) || error instanceof StateConflictError)) throw error;
        if (ranStages) this.#forget();
        this.#deps.logger.info({ attempt, error: (error as Error).message }, 'state commit met another writer: trying again');
      }
    }
  }

  async #once(batch: BatchContext, records: readonly Item<RawRecord>[], extraDeadLetters: readonly DeadLetterDraft[]): Promise<BatchSummary> {
    const part = await this.#commitPart(batch, records, extraDeadLetters);
    const summary = await this.#sinkPart(batch, part);
    // Acknowledged: the stages learn what is stored (ids now processed, states another writer had moved).
    this.#learn(part);
    return summary;
  }

  /** The stages, then the state commit: what Postgres decided for these records. */
  async #commitPart(batch: BatchContext, records: readonly Item<RawRecord>[], extraDeadLetters: readonly DeadLetterDraft[]): Promise<CommittedPart> {
    const deps = this.#deps;
    const { shardId, checkpoint, source, signal } = batch;
    const { kept, dropped, rejected, counts } = await this.#chain.run({ shardId, items: records }, signal);
    const hooked: HookedBatch = { shardId, source, eventIds: kept.map((item) => item.value.event.eventId) };
    await deps.hooks?.beforeCommit?.(hooked);
    const stageLetters = [...rejected, ...extraDeadLetters];
    const commitStarted = performance.now();
    const committed = await deps.stateCommitter.commit({
      source,
      tracked: kept,
      deadLetters: batch.returnDeadLetters ? [] : stageLetters,
      checkpoint,
      checkpointMode: deps.sinks.length > 0 ? 'verify' : 'write',
      retrack: this.#chain.retrack,
    });
    const commitSeconds = (performance.now() - commitStarted) / 1_000;
    if (committed.refreshed.size > 0) {
      deps.logger.info({ keys: committed.refreshed.size, duplicates: committed.duplicates.length }, 'another writer had moved some evaluation keys: their events were tracked again from Postgres');
    }
    await deps.hooks?.afterCommit?.(hooked);
    return { records, committed, dropped, counts, stageLetters, commitSeconds };
  }

  /** What the commit decided, told to the stages (ids now processed, states another writer had moved). */
  #learn(part: CommittedPart): void {
    const { committed } = part;
    this.#chain.committed({
      eventIds: [...committed.tracked.map((item) => item.value.event.eventId), ...committed.duplicates.map((item) => item.value.eventId)],
      refreshed: committed.refreshed,
    });
  }

  /** Every sink written past the commit, then the settle (their dead letters and the checkpoint); then the figures. */
  async #sinkPart(batch: BatchContext, part: CommittedPart): Promise<BatchSummary> {
    const deps = this.#deps;
    const { shardId, checkpoint, source, signal } = batch;
    const { records, committed, dropped, counts, stageLetters, commitSeconds } = part;
    let sinkLetters: DeadLetterDraft[] = [];
    let sinkDeadLetters = 0;
    if (deps.sinks.length > 0) {
      const items = [...committed.tracked, ...(await this.#rebuild(committed.duplicates))];
      sinkLetters = items.length > 0 ? await this.#deliver(shardId, items, records, signal) : [];
      const rewrittenFindings = items.flatMap((item) => (item.value.finding && item.value.transition !== 'stale' && item.value.transition !== 'recorded' ? [item.value.finding] : []));
      const settle = { source, deadLetters: batch.returnDeadLetters ? [] : sinkLetters, checkpoint, rewrittenFindings };
      // A deadlock here costs only the settle again: the sinks are written, the state is committed.
      const settled = await this.#withContentionRetries(batch, () => deps.stateCommitter.settle(settle), false);
      sinkDeadLetters = batch.returnDeadLetters ? sinkLetters.length : settled.deadLetters;
    }

    const transitions: Record<Transition, number> = { opened: 0, resolved: 0, unchanged: 0, recorded: 0, stale: 0 };
    for (const item of committed.tracked) transitions[item.value.transition]++;
    const duplicates = dropped.length + committed.duplicates.length;
    const metrics = deps.metrics;
    if (metrics) {
      metrics.commitLatency.observe(commitSeconds);
      const last = counts.length - 1;
      counts.forEach((count, i) => {
        // The last stage's records are what the commit accepted; events it found recorded already count as dropped.
        const stage: StageCount = i === last ? { ...count, kept: committed.tracked.length, dropped: count.dropped + committed.duplicates.length } : count;
        metrics.records.inc({ stage: stage.stage, outcome: 'in' }, stage.into);
        metrics.records.inc({ stage: stage.stage, outcome: 'kept' }, stage.kept);
        metrics.records.inc({ stage: stage.stage, outcome: 'dropped' }, stage.dropped);
        metrics.records.inc({ stage: stage.stage, outcome: 'rejected' }, stage.rejected);
      });
      for (const letter of [...stageLetters, ...sinkLetters]) metrics.deadLetters.inc({ stage: letter.stage });
      for (const [transition, count] of Object.entries(transitions)) if (count > 0) metrics.transitions.inc({ transition }, count);
      metrics.batches.inc({ shard: shardId });
      metrics.sinkRecords.inc({ sink: 'postgres', outcome: 'delivered' }, committed.tracked.length);
      metrics.lastCommit.setToCurrentTime();
    }
    return {
      evaluations: committed.evaluations,
      opened: committed.opened,
      resolved: committed.resolved,
      deadLetters: (batch.returnDeadLetters ? stageLetters.length : committed.deadLetters) + sinkDeadLetters,
      notifications: committed.notifications,
      records: records.length,
      accepted: committed.tracked.length,
      duplicates,
      transitions,
      ...(batch.returnDeadLetters ? { returnedDeadLetters: [...stageLetters, ...sinkLetters] } : {}),
    };
  }

  /** Events another commit recorded: their first effect, from Postgres, for the sinks to write what is missing. */
  async #rebuild(duplicates: readonly Item<EnrichedEvent>[]): Promise<Item<TrackedEvent>[]> {
    if (duplicates.length === 0) return [];
    const effects = await this.#deps.stateCommitter.firstEffects(duplicates.map((item) => item.value.eventId));
    const rebuilt: Item<TrackedEvent>[] = [];
    for (const { origin, value: event } of duplicates) {
      const effect = effects.get(event.eventId);
      if (effect) rebuilt.push({ origin, value: { event, transition: effect.transition, state: null, finding: effect.finding, rebuilt: true } });
    }
    return rebuilt;
  }

  /** Every sink, in parallel; items a sink refuses for good come back as dead letters with their record's bytes. */
  async #deliver(shardId: string, items: readonly Item<TrackedEvent>[], records: readonly Item<RawRecord>[], signal: AbortSignal): Promise<DeadLetterDraft[]> {
    const rawBySequence = new Map(records.map((item) => [item.origin.sequenceNumber, item.value.data]));
    const metrics = this.#deps.metrics;
    const results = await Promise.all(
      this.#deps.sinks.map(async (sink) => {
        const started = performance.now();
        const labels = { sink: sink.name };
        // Retries are counted as they happen, and a batch waiting on a failing sink shows as stalled until it settles.
        let stalled = false;
        const r = await deliver(sink, { shardId, items }, signal, this.#deps.logger.child({ sink: sink.name }), undefined, {
          onRetry: () => {
            metrics?.sinkRetries.inc(labels);
            if (!stalled) metrics?.sinkStalled.inc(labels);
            stalled = true;
          },
          onRecovered: () => {
            if (stalled) metrics?.sinkStalled.dec(labels);
          },
        });
        metrics?.sinkLatency.observe(labels, (performance.now() - started) / 1_000);
        metrics?.sinkRecords.inc({ ...labels, outcome: 'delivered' }, items.length - r.rejected.length);
        if (r.rejected.length > 0) metrics?.sinkRecords.inc({ ...labels, outcome: 'rejected' }, r.rejected.length);
        return { sink, r };
      }),
    );
    const letters: DeadLetterDraft[] = [];
    for (const { sink, r } of results) {
      for (const { item, reason } of r.rejected) {
        letters.push({ origin: item.origin, stage: `sink:${sink.name}`, reason, raw: rawBySequence.get(item.origin.sequenceNumber) ?? new Uint8Array() });
      }
    }
    return letters;
  }
}

/** A batch committed by `commitAhead`: its sinks, then its checkpoint, once the batch before it has settled. */
export interface PendingSinks {
  settle(): Promise<BatchSummary>;
}

/** A batch past its state commit, its sinks not yet written. */
interface CommittedPart {
  readonly records: readonly Item<RawRecord>[];
  readonly committed: CommitResult;
  readonly dropped: readonly DroppedRecord[];
  readonly counts: readonly StageCount[];
  readonly stageLetters: readonly DeadLetterDraft[];
  readonly commitSeconds: number;
}

/** One `process` call: where its records come from and what it may move. */
interface BatchContext {
  readonly shardId: string;
  readonly checkpoint: ShardCheckpoint | null;
  readonly source: string;
  readonly signal: AbortSignal;
  readonly returnDeadLetters: boolean;
}

function isolable(kind: FailureKind, isolate: boolean): boolean {
  return kind === 'data' || (isolate && kind === 'other');
}

function describe(error: unknown): string {
  const e = error as { message?: unknown; code?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : String(error);
  return typeof e?.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? `${message} (SQLSTATE ${e.code})` : message;
}

/** The dead letter of a record the store (or a sink, or the code) refused on its own. */
function refusedLetter(item: Item<RawRecord>, error: unknown): DeadLetterDraft {
  const stage = error instanceof SinkError ? `sink:${error.sink}` : failureKind(error) === 'data' ? 'store' : 'process';
  const prefix = stage === 'store' ? 'the state store refused this record' : 'processing this record failed';
  return { origin: item.origin, stage, reason: toStorableText(`${prefix}: ${describe(error)}`).slice(0, 1_000), raw: item.value.data };
}

// The counts of a summary that add up across the parts of an isolated batch.
const Summed = ['evaluations', 'opened', 'resolved', 'deadLetters', 'notifications', 'accepted', 'duplicates'] as const;

function combine(records: number, parts: readonly BatchSummary[]): BatchSummary {
  const transitions: Record<Transition, number> = { opened: 0, resolved: 0, unchanged: 0, recorded: 0, stale: 0 };
  const sums: Record<(typeof Summed)[number], number> = { evaluations: 0, opened: 0, resolved: 0, deadLetters: 0, notifications: 0, accepted: 0, duplicates: 0 };
  for (const part of parts) {
    for (const key of Summed) sums[key] += part[key];
    for (const [transition, count] of Object.entries(part.transitions) as [Transition, number][]) transitions[transition] += count;
  }
  const returned = parts.flatMap((part) => part.returnedDeadLetters ?? []);
  return { ...sums, records, transitions, ...(parts.some((part) => part.returnedDeadLetters) ? { returnedDeadLetters: returned } : {}) };
}
