import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Counters a person can watch on /metrics (Prometheus text format). One instance per process. */
export class PipelineMetrics {
  readonly registry = new Registry();
  readonly records = new Counter({ name: 'driftwatch_stage_records_total', help: 'records entering (outcome="in") and leaving each stage (kept, dropped, rejected)', labelNames: ['stage', 'outcome'] as const, registers: [this.registry] });
  readonly deadLetters = new Counter({ name: 'driftwatch_dead_letters_total', help: 'records turned into dead letters, by stage', labelNames: ['stage'] as const, registers: [this.registry] });
  readonly transitions = new Counter({ name: 'driftwatch_finding_transitions_total', help: 'tracked events by transition', labelNames: ['transition'] as const, registers: [this.registry] });
  readonly batches = new Counter({ name: 'driftwatch_batches_committed_total', help: 'batches committed with their checkpoint', labelNames: ['shard'] as const, registers: [this.registry] });
  readonly shardLag = new Gauge({ name: 'driftwatch_shard_lag_milliseconds', help: 'per shard: age of the oldest record read but not yet committed (0 when caught up); grows while a sink or Postgres is down', labelNames: ['shard'] as const, registers: [this.registry] });
  readonly sinkLatency = new Histogram({ name: 'driftwatch_sink_write_seconds', help: 'time for a sink to settle a batch, retries included', labelNames: ['sink'] as const, buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [this.registry] });
  readonly sinkRetries = new Counter({ name: 'driftwatch_sink_retries_total', help: 'extra write attempts per sink, counted as they happen', labelNames: ['sink'] as const, registers: [this.registry] });
  readonly sinkRecords = new Counter({ name: 'driftwatch_sink_records_total', help: 'records a sink settled: delivered, or rejected into dead letters', labelNames: ['sink', 'outcome'] as const, registers: [this.registry] });
  readonly sinkStalled = new Gauge({ name: 'driftwatch_sink_stalled_batches', help: 'batches waiting to retry a sink write (an outage shows here at once)', labelNames: ['sink'] as const, registers: [this.registry] });
  readonly batchFailures = new Counter({ name: 'driftwatch_batch_failures_total', help: 'batches that failed before their commit (the shard rewinds to its checkpoint and retries)', labelNames: ['shard'] as const, registers: [this.registry] });
  readonly commitLatency = new Histogram({ name: 'driftwatch_state_commit_seconds', help: 'time of the Postgres transaction per batch', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [this.registry] });
  readonly outboxDepth = new Gauge({ name: 'driftwatch_outbox_depth', help: 'notification intents not yet delivered', registers: [this.registry] });
  readonly outboxOldest = new Gauge({ name: 'driftwatch_outbox_oldest_pending_seconds', help: 'age of the oldest notification intent not yet delivered (0 when none)', registers: [this.registry] });
  readonly outboxFailed = new Gauge({ name: 'driftwatch_outbox_failed', help: 'notification intents Slack refused for good', registers: [this.registry] });
  readonly shardsExpired = new Counter({ name: 'driftwatch_shards_expired_total', help: 'shards the stream dropped (past retention) before they were read to their end; finished so their children could start', registers: [this.registry] });
  readonly lastCommit = new Gauge({ name: 'driftwatch_last_commit_timestamp_seconds', help: 'when a batch was last committed', registers: [this.registry] });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'driftwatch_' });
  }
}
