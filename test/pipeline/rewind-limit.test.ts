import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../../pipeline/config/load-settings.ts';
import { KinesisConsumer } from '../../pipeline/kinesis/kinesis-consumer.ts';
import { ShardLeaseManager } from '../../pipeline/kinesis/shard-lease-manager.ts';
import { PipelineMetrics } from '../../pipeline/metrics/pipeline-metrics.ts';
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
import { capturedLogger } from '../support/captured-logger.ts';

/**
 * A sink that refuses, as a whole and for good, every write holding one particular event (like a `_bulk` request
 * OpenSearch answers 400 or 413 because of one document): not a store refusal, so nothing is bisected at once, and
 * the shard rewinds to the same record again and again.
 */
class RefusingSink implements Sink<TrackedEvent> {
  readonly name = 'refusing';
  readonly delivered = new Set<string>();
  constructor(readonly poisonId: string) {}
  async healthcheck(): Promise<void> {}
  async write(batch: Batch<TrackedEvent>): Promise<WriteOutcome> {
    if (batch.items.some((item) => item.value.event.eventId === this.poisonId)) {
      return { status: 'errored', retriable: false, error: new Error('HTTP 400 request body malformed') };
    }
    for (const item of batch.items) this.delivered.add(item.value.event.eventId);
    return { status: 'delivered' };
  }
  async close(): Promise<void> {}
}

describe('a record that keeps failing its batch (issue 9)', () => {
  let kinesis: LocalKinesis;
  let database: TestDatabase;
  let runtime: Runtime;
  const sink = new RefusingSink('poison-7');
  const metrics = new PipelineMetrics({ defaultMetrics: false });
  const lines: { msg: string; failures?: number }[] = [];

  beforeAll(async () => {
    kinesis = await startLocalKinesis();
    database = await createTestDatabase();
    const logger = capturedLogger(lines);
    runtime = await createRuntime(loadSettings({ DATABASE_URL: database.url, KINESIS_ENDPOINT: kinesis.endpoint }), logger, { sinks: [sink], metrics });
  });

  afterAll(async () => {
    await runtime?.close();
    await database?.drop();
    await kinesis?.close();
  });

  it('rewinds onto it only a few times, then dead-letters it with a log line and moves on', async () => {
    await kinesis.createStream('rewind', 1);
    const at = Date.parse('2026-03-04T10:00:00Z');
    const ids = Array.from({ length: 12 }, (_, i) => (i === 7 ? 'poison-7' : `event-${i}`));
    const sequences = await kinesis.put('rewind', ids.map((id) => ({ data: JSON.stringify(complianceEvent({ id, resourceId: `r-${id}`, compliance: 'NON_COMPLIANT', at })), partitionKey: id })));
    const consumer = new KinesisConsumer({
      client: kinesis.client,
      streamName: 'rewind',
      leases: new ShardLeaseManager(runtime.database.db, { streamName: 'rewind', owner: 'rewind-test', leaseMs: 60_000 }),
      createProcessor: (shardId) => runtime.createProcessor(shardId),
      batchLimit: 100,
      maxInFlight: 1,
      pollIntervalMs: 100,
      refreshIntervalMs: 300,
      logger: pino({ level: 'silent' }),
      stopWhenCaughtUp: true,
    });
    // The worker backs off 0.5 s, 1 s, 2 s between rewinds: three rewinds take a few seconds.
    await consumer.run(AbortSignal.timeout(60_000));

    const failures = await metrics.registry.getSingleMetric('driftwatch_batch_failures_total')!.get();
    expect(failures.values.reduce((sum, v) => sum + v.value, 0)).toBe(3);
    expect(lines.some((line) => line.msg.startsWith('batch keeps failing at the same record') && line.failures === 3)).toBe(true);

    const letters = await runtime.database.db.selectFrom('dead_letters').selectAll().execute();
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ stage: 'sink:refusing', sequence_number: sequences[7] });
    expect(letters[0]!.reason).toMatch(/HTTP 400 request body malformed/);
    expect(JSON.parse(Buffer.from(letters[0]!.raw).toString()).id).toBe('poison-7');
    // Every other event reached the sink, and the checkpoint is past all of them.
    expect([...sink.delivered].sort()).toEqual(ids.filter((id) => id !== 'poison-7').sort());
    const lease = await runtime.database.db.selectFrom('shard_leases').select('checkpoint').executeTakeFirstOrThrow();
    expect(lease.checkpoint).toBe(sequences.at(-1));
  }, 90_000);
});
