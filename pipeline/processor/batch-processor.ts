import type { Logger } from 'pino';
import { DecodeStage } from '../../stages/decode/decode-stage.ts';
import type { RawRecord } from '../../stages/decode/decode-stage.ts';
import { DedupeStage } from '../../stages/dedupe/dedupe-stage.ts';
import type { ProcessedEventIndex } from '../../stages/dedupe/dedupe-stage.ts';
import { EnrichStage } from '../../stages/enrich/enrich-stage.ts';
import type { AccountRegistry } from '../../stages/enrich/account-registry.ts';
import type { RuleCatalog } from '../../stages/enrich/rule-catalog.ts';
import { ScopeStage } from '../../stages/scope/scope-stage.ts';
import type { DeadLetterDraft, Item, StageResult } from '../../stages/stage.ts';
import { TrackStage } from '../../stages/track/track-stage.ts';
import type { EvaluationStateStore, Transition, TrackedEvent } from '../../stages/track/track-stage.ts';
import type { SlaPolicy } from '../../stages/track/sla-policy.ts';
import { deliver } from '../sinks/deliver.ts';
import type { Sink } from '../sinks/sink.ts';
import type { CommitSummary, ShardCheckpoint } from '../sinks/postgres/state-commit.ts';
import type { PostgresStateSink } from '../sinks/postgres/postgres-state-sink.ts';
import type { PipelineMetrics } from '../metrics/pipeline-metrics.ts';

export interface ProcessorDependencies {
  readonly catalog: RuleCatalog;
  readonly accounts: AccountRegistry;
  readonly sla: SlaPolicy;
  readonly stateStore: EvaluationStateStore;
  readonly processedIndex?: ProcessedEventIndex;
  readonly stateSink: Pick<PostgresStateSink, 'commit'>;
  /** Idempotent sinks written before the state commit (OpenSearch). */
  readonly sinks: readonly Sink<TrackedEvent>[];
  readonly maxRecordBytes: number;
  /** Evaluation states the track stage keeps per shard (default: the stage's own). */
  readonly stateCacheSize?: number;
  readonly logger: Logger;
  readonly metrics?: PipelineMetrics;
}

export interface BatchSummary extends CommitSummary {
  readonly records: number;
  readonly accepted: number;
  readonly duplicates: number;
  readonly transitions: Readonly<Record<Transition, number>>;
}

/**
 * decode -> dedupe -> enrich -> scope -> track, then every idempotent sink, then the state commit (with the
 * checkpoint). One instance per shard: the dedupe and track stages hold that shard's recent memory.
 */
export class BatchProcessor {
  readonly #deps: ProcessorDependencies;
  readonly #decode: DecodeStage;
  readonly #dedupe: DedupeStage;
  readonly #enrich: EnrichStage;
  readonly #scope = new ScopeStage();
  readonly #track: TrackStage;

  constructor(deps: ProcessorDependencies) {
    this.#deps = deps;
    this.#decode = new DecodeStage({ maxRecordBytes: deps.maxRecordBytes });
    this.#dedupe = new DedupeStage(deps.processedIndex ? { index: deps.processedIndex } : {});
    this.#enrich = new EnrichStage({ catalog: deps.catalog, accounts: deps.accounts });
    this.#track = new TrackStage({ store: deps.stateStore, sla: deps.sla, ...(deps.stateCacheSize ? { cacheCapacity: deps.stateCacheSize } : {}) });
  }

  async process(
    shardId: string,
    records: readonly Item<RawRecord>[],
    checkpoint: ShardCheckpoint | null,
    source: string,
    signal: AbortSignal,
  ): Promise<BatchSummary> {
    try {
      return await this.#process(shardId, records, checkpoint, source, signal);
    } catch (error) {
      this.#deps.metrics?.batchFailures.inc({ shard: shardId });
      // The commit did not happen: forget what this batch taught the stages, the shard rewinds to its checkpoint.
      this.#track.reset();
      this.#dedupe.forget();
      throw error;
    }
  }

  async #process(
    shardId: string,
    records: readonly Item<RawRecord>[],
    checkpoint: ShardCheckpoint | null,
    source: string,
    signal: AbortSignal,
  ): Promise<BatchSummary> {
    const { tracked, rejected, counts } = await this.#stages(shardId, records, signal);
    const deadLetters: DeadLetterDraft[] = [...rejected];
    if (this.#deps.sinks.length > 0 && tracked.kept.length > 0) {
      const rawBySequence = new Map(records.map((item) => [item.origin.sequenceNumber, item.value.data]));
      const metrics = this.#deps.metrics;
      const results = await Promise.all(
        this.#deps.sinks.map(async (sink) => {
          const started = performance.now();
          const labels = { sink: sink.name };
          // Retries are counted as they happen, and a batch waiting on a failing sink shows as stalled until it settles.
          let stalled = false;
          const r = await deliver(sink, { shardId, items: tracked.kept }, signal, this.#deps.logger.child({ sink: sink.name }), undefined, {
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
          metrics?.sinkRecords.inc({ ...labels, outcome: 'delivered' }, tracked.kept.length - r.rejected.length);
          if (r.rejected.length > 0) metrics?.sinkRecords.inc({ ...labels, outcome: 'rejected' }, r.rejected.length);
          return { sink, r };
        }),
      );
      for (const { sink, r } of results) {
        for (const { item, reason } of r.rejected) {
          deadLetters.push({
            origin: item.origin,
            stage: `sink:${sink.name}`,
            reason,
            raw: rawBySequence.get(item.origin.sequenceNumber) ?? new Uint8Array(),
          });
        }
      }
    }
    const commitStarted = performance.now();
    const summary = await this.#deps.stateSink.commit({ source, tracked: tracked.kept, deadLetters, checkpoint });
    this.#dedupe.remember(tracked.kept.map((item) => item.value.event.eventId));

    const transitions: Record<Transition, number> = { opened: 0, resolved: 0, unchanged: 0, recorded: 0, stale: 0 };
    for (const item of tracked.kept) transitions[item.value.transition]++;
    const metrics = this.#deps.metrics;
    if (metrics) {
      metrics.commitLatency.observe((performance.now() - commitStarted) / 1_000);
      const stage = (name: string, into: number, kept: number, other?: { outcome: string; count: number }) => {
        metrics.records.inc({ stage: name, outcome: 'in' }, into);
        metrics.records.inc({ stage: name, outcome: 'kept' }, kept);
        if (other) metrics.records.inc({ stage: name, outcome: other.outcome }, other.count);
      };
      stage('decode', records.length, counts.decoded, { outcome: 'rejected', count: rejected.length });
      stage('dedupe', counts.decoded, counts.deduped, { outcome: 'dropped', count: counts.duplicates });
      stage('enrich', counts.deduped, counts.enriched);
      stage('scope', counts.enriched, counts.scoped);
      stage('track', counts.scoped, tracked.kept.length);
      for (const letter of deadLetters) metrics.deadLetters.inc({ stage: letter.stage });
      for (const [transition, count] of Object.entries(transitions)) if (count > 0) metrics.transitions.inc({ transition }, count);
      metrics.batches.inc({ shard: shardId });
      metrics.sinkRecords.inc({ sink: 'postgres', outcome: 'delivered' }, tracked.kept.length);
      metrics.lastCommit.setToCurrentTime();
    }
    return {
      ...summary,
      records: records.length,
      accepted: tracked.kept.length,
      duplicates: counts.duplicates,
      transitions,
    };
  }

  /**
   * The stages, in a function of their own so their intermediate results (the parsed and validated event trees) are
   * garbage before the sinks are awaited: only the tracked events, the dead letters and the counts leave it. Held
   * across a sink's round trip by four shards, those trees were a large part of the consumer's memory.
   */
  async #stages(
    shardId: string,
    records: readonly Item<RawRecord>[],
    signal: AbortSignal,
  ): Promise<{ tracked: StageResult<TrackedEvent>; rejected: DeadLetterDraft[]; counts: StageCounts }> {
    const decoded = this.#decode.processSync({ shardId, items: records });
    const deduped = await this.#dedupe.process({ shardId, items: decoded.kept }, signal);
    const enriched = this.#enrich.processSync({ shardId, items: deduped.kept });
    const scoped = this.#scope.processSync({ shardId, items: enriched.kept });
    const tracked = await this.#track.process({ shardId, items: scoped.kept }, signal);
    return {
      tracked,
      rejected: decoded.rejected,
      counts: { decoded: decoded.kept.length, deduped: deduped.kept.length, duplicates: deduped.dropped.length, enriched: enriched.kept.length, scoped: scoped.kept.length },
    };
  }
}

interface StageCounts {
  readonly decoded: number;
  readonly deduped: number;
  readonly duplicates: number;
  readonly enriched: number;
  readonly scoped: number;
}
