import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../../pipeline/config/load-settings.ts';
import { KinesisConsumer } from '../../pipeline/kinesis/kinesis-consumer.ts';
import { compareSequenceNumbers } from '../../pipeline/kinesis/sequence-number.ts';
import { ShardLeaseManager } from '../../pipeline/kinesis/shard-lease-manager.ts';
import type { HookedBatch } from '../../pipeline/processor/processor-hooks.ts';
import { createRuntime } from '../../pipeline/runtime/create-runtime.ts';
import type { Runtime } from '../../pipeline/runtime/create-runtime.ts';
import type { Sink, WriteOutcome } from '../../pipeline/sinks/sink.ts';
import type { Batch } from '../../stages/stage.ts';
import type { TrackedEvent } from '../../stages/track/tracked-event.ts';
import { complianceEvent } from '../support/events.ts';
import { startLocalKinesis } from '../support/kinesis.ts';
import type { LocalKinesis } from '../support/kinesis.ts';
import { createTestDatabase } from '../support/postgres.ts';
import type { TestDatabase } from '../support/postgres.ts';

const BatchSize = 10;
const Events = 50;

interface Write {
  readonly ids: readonly string[];
  readonly rebuilt: readonly string[];
  readonly started: number;
  ended: number;
  readonly failed: boolean;
  /** The shard's checkpoint when the write started: every event at or before it must be in the sink already. */
  readonly checkpointAtStart: string | null;
}

/**
 * A slow sink (like OpenSearch under load) whose write of the second batch fails for good, once, only after the
 * third batch has been committed: so the failure meets a batch committed ahead of it, whatever the timing.
 */
class SlowOnceFailingSink implements Sink<TrackedEvent> {
  readonly name = 'slow';
  readonly writes: Write[] = [];
  /** Event ids the sink holds (acknowledged writes only). */
  readonly stored = new Set<string>();
  #calls = 0;
  thirdBatchCommitted!: Promise<void>;
  constructor(
    readonly checkpoint: () => Promise<string | null>,
    readonly delayMs: number,
  ) {}
  async healthcheck(): Promise<void> {}
  async write(batch: Batch<TrackedEvent>): Promise<WriteOutcome> {
    const call = ++this.#calls;
    const write: Write = {
      ids: batch.items.map((item) => item.value.event.eventId),
      rebuilt: batch.items.flatMap((item) => (item.value.rebuilt ? [item.value.event.eventId] : [])),
      started: performance.now(),
      ended: 0,
      failed: call === 2,
      checkpointAtStart: await this.checkpoint(),
    };
    this.writes.push(write);
    await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    if (write.failed) {
      // Bounded: without the overlap the third batch never commits during this write, and the test says so below.
      await Promise.race([this.thirdBatchCommitted, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      write.ended = performance.now();
      return { status: 'errored', retriable: false, error: new Error('HTTP 400 refused once') };
    }
    for (const id of write.ids) this.stored.add(id);
    write.ended = performance.now();
    return { status: 'delivered' };
  }
  async close(): Promise<void> {}
}

describe('batches of one shard overlapped: the next one commits while the sinks of the one before are written', () => {
  let kinesis: LocalKinesis;
  let database: TestDatabase;
  let runtime: Runtime;
  const commits: { readonly ids: readonly string[]; readonly started: number; ended: number }[] = [];
  let sink: SlowOnceFailingSink;
  let thirdBatchIds: ReadonlySet<string>;
  let onThirdBatchCommitted!: () => void;

  beforeAll(async () => {
    kinesis = await startLocalKinesis();
    database = await createTestDatabase();
    sink = new SlowOnceFailingSink(async () => {
      const row = await runtime.database.db.selectFrom('shard_leases').select('checkpoint').where('stream_name', '=', 'overlap').executeTakeFirst();
      return row?.checkpoint ?? null;
    }, 300);
    sink.thirdBatchCommitted = new Promise<void>((resolve) => (onThirdBatchCommitted = resolve));
    runtime = await createRuntime(loadSettings({ DATABASE_URL: database.url, KINESIS_ENDPOINT: kinesis.endpoint }), pino({ level: 'silent' }), {
      sinks: [sink],
      processorHooks: {
        beforeCommit: async (batch: HookedBatch) => {
          commits.push({ ids: batch.eventIds, started: performance.now(), ended: 0 });
        },
        afterCommit: async (batch: HookedBatch) => {
          const commit = commits.findLast((c) => c.ids[0] === batch.eventIds[0]);
          if (commit) commit.ended = performance.now();
          if (batch.eventIds.some((id) => thirdBatchIds.has(id))) onThirdBatchCommitted();
        },
      },
    });
  });

  afterAll(async () => {
    await runtime?.close();
    await database?.drop();
    await kinesis?.close();
  });

  it('overlaps, and after a sink failure rewinds so every event reaches the sink and the checkpoint never passes an unacknowledged batch', async () => {
    await kinesis.createStream('overlap', 1);
    const at = Date.parse('2026-03-04T10:00:00Z');
    const ids = Array.from({ length: Events }, (_, i) => `event-${String(i).padStart(2, '0')}`);
    thirdBatchIds = new Set(ids.slice(2 * BatchSize, 3 * BatchSize));
    const sequences = await kinesis.put(
      'overlap',
      ids.map((id, i) => ({ data: JSON.stringify(complianceEvent({ id, resourceId: `r-${i % 7}`, compliance: i % 2 ? 'COMPLIANT' : 'NON_COMPLIANT', at: at + i * 1_000 })), partitionKey: 'one' })),
    );
    const sequenceOf = new Map(ids.map((id, i) => [id, sequences[i]!]));
    const consumer = new KinesisConsumer({
      client: kinesis.client,
      streamName: 'overlap',
      leases: new ShardLeaseManager(runtime.database.db, { streamName: 'overlap', owner: 'overlap-test', leaseMs: 60_000 }),
      createProcessor: (shardId) => runtime.createProcessor(shardId),
      batchLimit: BatchSize,
      maxInFlight: 1,
      pollIntervalMs: 100,
      refreshIntervalMs: 300,
      logger: pino({ level: 'silent' }),
      stopWhenCaughtUp: true,
    });
    await consumer.run(AbortSignal.timeout(60_000));

    // The overlap: the third batch committed while the second batch's (failing) write was still under way.
    const failed = sink.writes.find((w) => w.failed)!;
    expect(failed.ids).toEqual(ids.slice(BatchSize, 2 * BatchSize));
    const third = commits.find((c) => c.ids[0] === ids[2 * BatchSize])!;
    expect(third.started).toBeLessThan(failed.ended);
    expect(third.ended).toBeLessThan(failed.ended);
    // And in the run after it, some commit starts before the write of the batch before it ends.
    const overlapped = commits.filter((c) => sink.writes.some((w) => !w.failed && w.started < c.started && c.started < w.ended));
    expect(overlapped.length).toBeGreaterThan(1);

    // The rewind: the failed batch and the one committed ahead of it are read again, found committed, and their first
    // effects rebuilt from Postgres reach the sink; nothing is committed twice.
    const rebuilt = new Set(sink.writes.flatMap((w) => w.rebuilt));
    for (const id of [...ids.slice(BatchSize, 2 * BatchSize), ...thirdBatchIds]) expect(rebuilt.has(id)).toBe(true);
    expect([...sink.stored].sort()).toEqual(ids);
    const processed = await runtime.database.db.selectFrom('processed_events').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    expect(Number(processed.n)).toBe(Events);

    // The checkpoint never passed an event the sink had not acknowledged, and ends at the last record.
    const acknowledgedBefore = (write: Write) => new Set(sink.writes.filter((w) => !w.failed && w.ended <= write.started).flatMap((w) => w.ids));
    for (const write of sink.writes) {
      if (write.checkpointAtStart === null) continue;
      const acknowledged = acknowledgedBefore(write);
      for (const id of ids) {
        if (compareSequenceNumbers(sequenceOf.get(id)!, write.checkpointAtStart) <= 0) expect(acknowledged.has(id)).toBe(true);
      }
    }
    expect(failed.checkpointAtStart).toBe(sequences[BatchSize - 1]);
    const lease = await runtime.database.db.selectFrom('shard_leases').select('checkpoint').where('stream_name', '=', 'overlap').executeTakeFirstOrThrow();
    expect(lease.checkpoint).toBe(sequences.at(-1));
  }, 90_000);
});
