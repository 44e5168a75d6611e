import { setTimeout as sleep } from 'node:timers/promises';
import { GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-kinesis';
import type { KinesisClient, _Record } from '@aws-sdk/client-kinesis';
import type { Logger } from 'pino';
import type { BatchProcessor, BatchSummary } from '../processor/batch-processor.ts';
import { Backoff } from '../runtime/backoff.ts';
import type { BackoffPolicy } from '../runtime/backoff.ts';
import { LeaseLostError } from '../types/lease-lost-error.ts';
import type { RawRecord } from '../../stages/decode/raw-record.ts';
import type { Item } from '../../stages/stage.ts';
import { BoundedQueue } from './bounded-queue.ts';
import { CheckpointTracker } from './checkpoint-tracker.ts';
import type { ShardLease, ShardLeaseManager } from './shard-lease-manager.ts';

export interface ShardWorkerOptions {
  readonly client: KinesisClient;
  readonly streamName: string;
  readonly lease: ShardLease;
  readonly leases: ShardLeaseManager;
  readonly processor: BatchProcessor;
  readonly batchLimit: number;
  readonly maxInFlight: number;
  readonly pollIntervalMs: number;
  readonly logger: Logger;
  readonly onBatch?: (shardId: string, summary: BatchSummary, lagMs: number) => void;
  /** Between rewinds (default: RewindBackoff, full jitter); a test passes one with a fixed jitter to read its delays. */
  readonly backoff?: Backoff;
}

interface FetchedBatch {
  readonly records: Item<RawRecord>[];
  readonly last: string;
  readonly lagMs: number;
}

type Fetched = FetchedBatch | 'shard-end' | 'caught-up';

const RewindBackoff: BackoffPolicy = { baseMs: 500, maxMs: 30_000 };

// Kinesis allows 5 GetRecords calls per second per shard.
const MinGetRecordsIntervalMs = 200;

/**
 * Reads one shard in order from its checkpoint, up to `maxInFlight` batches ahead of processing, and commits each
 * batch's checkpoint with its state. On any failure it rewinds to the last committed checkpoint and reads again.
 */
export class ShardWorker {
  readonly #o: ShardWorkerOptions;
  #position: string | null;
  #caughtUp = false;
  /** Arrival of the oldest record read but not committed; kept across a rewind, since those records are still due. */
  #uncommittedSince: number | null = null;
  /** Arrival of the first record of each batch read and not yet committed, in read order. */
  #inFlight: { readonly last: string; readonly arrival: number | null }[] = [];
  /** Between rewinds after failures; a committed batch resets it, so an old bad spell does not slow the next one. */
  readonly #backoff: Backoff;

  constructor(options: ShardWorkerOptions) {
    this.#o = options;
    this.#backoff = options.backoff ?? new Backoff(RewindBackoff);
    this.#position = options.lease.checkpoint;
  }

  get shardId(): string {
    return this.#o.lease.shardId;
  }

  /** True once a read found no more records behind the tip (and everything read was committed). */
  get caughtUp(): boolean {
    return this.#caughtUp;
  }

  /**
   * How far behind this shard is: the age of the oldest record read but not yet committed, 0 when everything read
   * is committed. It keeps growing while a sink or Postgres is down, unlike the age of the last committed record.
   */
  lagMs(now: number = Date.now()): number {
    return this.#uncommittedSince === null ? 0 : Math.max(0, now - this.#uncommittedSince);
  }

  /** Resolves 'finished' when a closed shard was read to its end, 'stopped' on abort or lost lease. */
  async run(signal: AbortSignal): Promise<'finished' | 'stopped'> {
    const { logger } = this.#o;
    while (!signal.aborted) {
      try {
        const outcome = await this.#readFromPosition(signal);
        if (outcome === 'shard-end') {
          const finished = await this.#o.leases.finish(this.#o.lease);
          logger.info({ checkpoint: this.#position, finished }, 'shard finished');
          return finished ? 'finished' : 'stopped';
        }
      } catch (error) {
        if (signal.aborted) break;
        if (error instanceof LeaseLostError) {
          logger.warn({ err: error }, 'lease lost, stopping shard');
          return 'stopped';
        }
        const retryInMs = this.#backoff.next();
        logger.error({ err: error, checkpoint: this.#position, retryInMs }, 'shard processing failed, rewinding to checkpoint');
        await sleep(retryInMs, undefined, { signal }).catch(() => undefined);
      }
    }
    return 'stopped';
  }

  /**
   * Batches are committed in order and settled in order, overlapped by one: batch N+1 runs its stages and state commit
   * while batch N's sinks are written (BatchProcessor.commitAhead), and N+1's sinks start once N has settled. The
   * checkpoint so only ever moves past batches every sink acknowledged, and all before them. Any failure waits for
   * what is in flight, then rewinds the whole shard to the last settled checkpoint: a batch committed but not settled
   * is read again, its events are duplicates whose first effects are rebuilt from Postgres and sent again.
   */
  async #readFromPosition(outer: AbortSignal): Promise<'shard-end'> {
    const { processor, streamName, leases, lease } = this.#o;
    const inner = new AbortController();
    const signal = AbortSignal.any([outer, inner.signal]);
    const queue = new BoundedQueue<Fetched>(this.#o.maxInFlight);
    const tracker = new CheckpointTracker(this.#position);
    const reader = this.#read(queue, signal).catch((error: unknown) => {
      inner.abort(error);
      throw error;
    });
    // The batch whose sinks are being written, at most one; a failure aborts `inner` so an idle loop hears of it.
    let sinking: Promise<void> | null = null;
    const previousSettled = async (): Promise<void> => {
      const phase = sinking;
      sinking = null;
      await phase;
    };
    try {
      for (;;) {
        const fetched = await queue.shift(signal);
        if (fetched === 'caught-up') {
          // Caught up means everything read is in every sink, not only in Postgres.
          await previousSettled();
          this.#caughtUp = queue.size === 0;
          continue;
        }
        if (fetched === 'shard-end') {
          await previousSettled();
          return 'shard-end';
        }
        this.#caughtUp = false;
        tracker.track(fetched.last);
        // Sink phases settle in order, so when this batch settles every batch before it has: it moves the checkpoint to its end.
        const checkpoint = { streamName, shardId: this.shardId, sequenceNumber: fetched.last, owner: leases.owner, leaseToken: lease.leaseToken };
        const ahead = await processor.commitAhead(this.shardId, fetched.records, checkpoint, 'kinesis', signal);
        await previousSettled();
        if (ahead === 'isolate') {
          // Records that keep failing are looked for un-overlapped, as every other caller of the processor does.
          this.#settled(tracker, fetched, await processor.process(this.shardId, fetched.records, checkpoint, 'kinesis', signal));
          continue;
        }
        const phase = ahead.settle().then((summary) => this.#settled(tracker, fetched, summary));
        phase.catch((error: unknown) => inner.abort(error));
        sinking = phase;
      }
    } catch (error) {
      // The batch in its sink phase may still settle and move the checkpoint; only then do the stages forget.
      await previousSettled().catch(() => undefined);
      processor.rewound();
      // A reader or sink failure aborted `inner`: report that failure rather than the abort it caused.
      if (inner.signal.aborted && !outer.aborted) throw inner.signal.reason;
      throw error;
    } finally {
      inner.abort();
      await reader.catch(() => undefined);
      // A rewind reads these batches again; #uncommittedSince stays until they commit.
      this.#inFlight = [];
    }
  }

  #settled(tracker: CheckpointTracker, fetched: FetchedBatch, summary: BatchSummary): void {
    this.#position = tracker.ack(fetched.last);
    this.#committed(fetched.last);
    this.#backoff.reset();
    this.#o.onBatch?.(this.shardId, summary, fetched.lagMs);
  }

  #fetched(last: string, arrival: number | null): void {
    this.#inFlight.push({ last, arrival });
    if (arrival !== null && (this.#uncommittedSince === null || arrival < this.#uncommittedSince)) this.#uncommittedSince = arrival;
  }

  #committed(last: string): void {
    const index = this.#inFlight.findIndex((batch) => batch.last === last);
    this.#inFlight.splice(0, index + 1);
    this.#uncommittedSince = this.#inFlight.reduce<number | null>((oldest, b) => (b.arrival !== null && (oldest === null || b.arrival < oldest) ? b.arrival : oldest), null);
  }

  async #read(queue: BoundedQueue<Fetched>, signal: AbortSignal): Promise<void> {
    const { client, streamName, batchLimit, pollIntervalMs } = this.#o;
    const start = await client.send(
      new GetShardIteratorCommand(
        this.#position
          ? { StreamName: streamName, ShardId: this.shardId, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: this.#position }
          : { StreamName: streamName, ShardId: this.shardId, ShardIteratorType: 'TRIM_HORIZON' },
      ),
      { abortSignal: signal },
    );
    let iterator = start.ShardIterator;
    let lastCall = 0;
    while (iterator) {
      // Room first, then the read: a page is never held waiting, so a shard holds at most maxInFlight batches read
      // ahead, one committing and one in its sink phase (memoryShardCapacity counts on it).
      await queue.waitForRoom(signal);
      const wait = lastCall + MinGetRecordsIntervalMs - Date.now();
      if (wait > 0) await sleep(wait, undefined, { signal });
      lastCall = Date.now();
      const page = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: batchLimit }), { abortSignal: signal });
      const records = page.Records ?? [];
      if (records.length > 0) {
        const last = records[records.length - 1]!;
        this.#fetched(last.SequenceNumber!, records[0]!.ApproximateArrivalTimestamp?.getTime() ?? null);
        await queue.push({ records: records.map((r) => toItem(this.shardId, r)), last: last.SequenceNumber!, lagMs: lagOf(last) }, signal);
      }
      iterator = page.NextShardIterator;
      if (!iterator) break;
      if (records.length === 0 && (page.MillisBehindLatest ?? 0) === 0) {
        await queue.push('caught-up', signal);
        await sleep(pollIntervalMs, undefined, { signal });
      }
    }
    await queue.push('shard-end', signal);
  }
}

function toItem(shardId: string, record: _Record): Item<RawRecord> {
  return { origin: { shardId, sequenceNumber: record.SequenceNumber! }, value: { data: record.Data ?? new Uint8Array() } };
}

function lagOf(record: _Record): number {
  return record.ApproximateArrivalTimestamp ? Math.max(0, Date.now() - record.ApproximateArrivalTimestamp.getTime()) : 0;
}
