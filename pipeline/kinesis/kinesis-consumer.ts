import { setTimeout as sleep } from 'node:timers/promises';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { Logger } from 'pino';
import type { PipelineMetrics } from '../metrics/pipeline-metrics.ts';
import type { BatchProcessor, BatchSummary } from '../processor/batch-processor.ts';
import { listAllShards } from './shard-discovery.ts';
import type { ShardLease, ShardLeaseManager } from './shard-lease-manager.ts';
import { ShardWorker } from './shard-worker.ts';
import { describeStreamIdentity } from './stream-identity.ts';

export interface KinesisConsumerOptions {
  readonly client: KinesisClient;
  readonly streamName: string;
  readonly leases: ShardLeaseManager;
  /** One processor per shard: its stages keep that shard's memory. */
  readonly createProcessor: (shardId: string) => BatchProcessor;
  readonly batchLimit: number;
  readonly maxInFlight: number;
  readonly pollIntervalMs: number;
  /** How often shards are rediscovered and leases renewed. */
  readonly refreshIntervalMs: number;
  /** How often held leases are renewed, on a timer of their own (default refreshIntervalMs). */
  readonly renewIntervalMs?: number;
  readonly logger: Logger;
  readonly metrics?: PipelineMetrics;
  readonly onBatch?: (shardId: string, summary: BatchSummary, lagMs: number) => void;
  /** Stop once every shard this worker can hold has caught up with the tip (demo, replay of a backlog, tests). */
  readonly stopWhenCaughtUp?: boolean;
}

interface RunningShard {
  readonly lease: ShardLease;
  readonly worker: ShardWorker;
  readonly abort: AbortController;
  readonly done: Promise<'finished' | 'stopped'>;
}

/** Discovers shards, holds leases on some of them and runs one ShardWorker per held shard. */
export class KinesisConsumer {
  readonly #o: KinesisConsumerOptions;
  readonly #running = new Map<string, RunningShard>();
  #waitingWarnedAt = Number.NEGATIVE_INFINITY;

  constructor(options: KinesisConsumerOptions) {
    this.#o = options;
  }

  get runningShards(): readonly string[] {
    return [...this.#running.keys()];
  }

  /** Per held shard: age of its oldest record read but not committed (see ShardWorker.lagMs). */
  shardLags(now: number = Date.now()): ReadonlyMap<string, number> {
    return new Map([...this.#running.entries()].map(([shardId, running]) => [shardId, running.worker.lagMs(now)]));
  }

  /** A worker at its shard limit while ready shards have no worker: said once a minute, or that lag goes unseen. */
  async #warnIfShardsWait(): Promise<void> {
    if (!this.#o.leases.full(new Set(this.#running.keys())) || Date.now() - this.#waitingWarnedAt < 60_000) return;
    const waiting = await this.#o.leases.waiting();
    if (waiting === 0) return;
    this.#waitingWarnedAt = Date.now();
    this.#o.logger.warn({ held: this.#running.size, waiting }, 'shards wait for a worker: this one holds all it may (--max-shards or its heap); add workers or raise DRIFTWATCH_NODE_FLAGS');
  }

  async run(signal: AbortSignal): Promise<void> {
    const { logger } = this.#o;
    logger.info({ stream: this.#o.streamName, owner: this.#o.leases.owner }, 'consumer starting');
    // Renewal has a loop of its own: a slow or failing ListShards must never let the leases of working shards lapse.
    const renewal = new AbortController();
    const renewing = this.#renewLeases(AbortSignal.any([signal, renewal.signal]));
    try {
      while (!signal.aborted) {
        let acquiredNone = true;
        try {
          await this.#discover(signal);
          const acquired = await this.#o.leases.acquire(new Set(this.#running.keys()));
          acquiredNone = acquired.length === 0;
          for (const lease of acquired) this.#startShard(lease, signal);
          await this.#warnIfShardsWait();
        } catch (error) {
          if (signal.aborted) break;
          logger.error({ err: error }, 'shard discovery or lease acquisition failed');
        }
        if (this.#o.stopWhenCaughtUp && acquiredNone && [...this.#running.values()].every((r) => r.worker.caughtUp)) break;
        // Wake early when a shard finishes: its children become ready. A run that stops when caught up looks every
        // second, or it would idle up to a whole refresh interval after the last record.
        const finished = Promise.race([...this.#running.values()].map((r) => r.done));
        const pause = this.#o.stopWhenCaughtUp ? Math.min(this.#o.refreshIntervalMs, 1_000) : this.#o.refreshIntervalMs;
        await Promise.race([sleep(pause, undefined, { signal }), finished]).catch(() => undefined);
      }
    } finally {
      renewal.abort();
      await renewing;
      await this.#stopAll();
      logger.info({}, 'consumer stopped');
    }
  }

  /** Which stream the name points at, its shards, and the shards it dropped before they were finished. */
  async #discover(signal: AbortSignal): Promise<void> {
    const { client, streamName, leases, logger } = this.#o;
    const stream = await describeStreamIdentity(client, streamName, signal);
    const { changed, adopted } = await leases.useStream(stream);
    if (adopted > 0) logger.info({ streamId: stream.id, adopted }, 'shard leases bound to the stream');
    if (changed) {
      logger.warn({ streamId: stream.id }, 'stream was recreated under the same name: its shards start from scratch');
      for (const shardId of this.#running.keys()) this.#stopShard(shardId, 'stream recreated');
    }
    const shards = await listAllShards(client, streamName, signal, stream.createdAt);
    for (const shard of await leases.sync(shards)) {
      logger.warn({ shardId: shard.shardId, checkpoint: shard.checkpoint }, 'shard expired before it was read to its end; finished so its children can start');
      this.#o.metrics?.shardsExpired.inc();
      this.#stopShard(shard.shardId, 'shard expired');
    }
  }

  async #renewLeases(signal: AbortSignal): Promise<void> {
    const interval = this.#o.renewIntervalMs ?? this.#o.refreshIntervalMs;
    while (!signal.aborted) {
      await sleep(interval, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) return;
      const held = [...this.#running.values()].filter((r) => !r.abort.signal.aborted).map((r) => r.lease);
      try {
        const lost = await this.#o.leases.renew(held);
        for (const shardId of lost) this.#stopShard(shardId, 'lease taken by another worker');
      } catch (error) {
        if (signal.aborted) return;
        this.#o.logger.error({ err: error }, 'lease renewal failed');
      }
    }
  }

  #startShard(lease: ShardLease, outer: AbortSignal): void {
    const abort = new AbortController();
    const logger = this.#o.logger.child({ shardId: lease.shardId });
    const worker = new ShardWorker({
      client: this.#o.client,
      streamName: this.#o.streamName,
      lease,
      leases: this.#o.leases,
      processor: this.#o.createProcessor(lease.shardId),
      batchLimit: this.#o.batchLimit,
      maxInFlight: this.#o.maxInFlight,
      pollIntervalMs: this.#o.pollIntervalMs,
      logger,
      ...(this.#o.onBatch ? { onBatch: this.#o.onBatch } : {}),
    });
    logger.info({ checkpoint: lease.checkpoint, leaseToken: lease.leaseToken }, 'shard lease acquired');
    const done = worker.run(AbortSignal.any([outer, abort.signal])).finally(() => this.#running.delete(lease.shardId));
    this.#running.set(lease.shardId, { lease, worker, abort, done });
  }

  #stopShard(shardId: string, reason: string): void {
    const running = this.#running.get(shardId);
    if (!running) return;
    this.#o.logger.warn({ shardId, reason }, 'stopping shard');
    running.abort.abort(new Error(reason));
  }

  async #stopAll(): Promise<void> {
    const all = [...this.#running.values()];
    for (const running of all) running.abort.abort(new Error('consumer stopping'));
    await Promise.allSettled(all.map((r) => r.done));
    await Promise.allSettled(all.map((r) => this.#o.leases.release(r.lease)));
  }
}
