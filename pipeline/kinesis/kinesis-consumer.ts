import { setTimeout as sleep } from 'node:timers/promises';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { Logger } from 'pino';
import type { BatchProcessor, BatchSummary } from '../processor/batch-processor.ts';
import { listAllShards } from './shard-discovery.ts';
import type { ShardLease, ShardLeaseManager } from './shard-lease-manager.ts';
import { ShardWorker } from './shard-worker.ts';

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
  readonly logger: Logger;
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

  async run(signal: AbortSignal): Promise<void> {
    const { logger } = this.#o;
    logger.info({ stream: this.#o.streamName, owner: this.#o.leases.owner }, 'consumer starting');
    try {
      while (!signal.aborted) {
        let acquiredNone = true;
        try {
          const shards = await listAllShards(this.#o.client, this.#o.streamName, signal);
          await this.#o.leases.sync(shards);
          const lost = await this.#o.leases.renew([...this.#running.values()].map((r) => r.lease));
          for (const shardId of lost) this.#stopShard(shardId, 'lease taken by another worker');
          const acquired = await this.#o.leases.acquire(new Set(this.#running.keys()));
          acquiredNone = acquired.length === 0;
          for (const lease of acquired) this.#startShard(lease, signal);
        } catch (error) {
          if (signal.aborted) break;
          logger.error({ err: error }, 'shard discovery or lease refresh failed');
        }
        if (this.#o.stopWhenCaughtUp && acquiredNone && [...this.#running.values()].every((r) => r.worker.caughtUp)) break;
        // Wake early when a shard finishes: its children become ready. A run that stops when caught up looks every
        // second, or it would idle up to a whole refresh interval after the last record.
        const finished = Promise.race([...this.#running.values()].map((r) => r.done));
        const pause = this.#o.stopWhenCaughtUp ? Math.min(this.#o.refreshIntervalMs, 1_000) : this.#o.refreshIntervalMs;
        await Promise.race([sleep(pause, undefined, { signal }), finished]).catch(() => undefined);
      }
    } finally {
      await this.#stopAll();
      logger.info({}, 'consumer stopped');
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
