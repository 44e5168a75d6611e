import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { KinesisConsumer } from '../../pipeline/kinesis/kinesis-consumer.ts';
import { ShardLeaseManager } from '../../pipeline/kinesis/shard-lease-manager.ts';
import { createRuntime } from '../../pipeline/runtime/create-runtime.ts';
import type { Runtime } from '../../pipeline/runtime/create-runtime.ts';
import { loadSettings } from '../../pipeline/config/load-settings.ts';
import { PipelineMetrics } from '../../pipeline/metrics/pipeline-metrics.ts';
import type { Sink, WriteOutcome } from '../../pipeline/sinks/sink.ts';
import type { TrackedEvent } from '../../stages/track/tracked-event.ts';
import { createTestDatabase } from '../support/postgres.ts';
import type { TestDatabase } from '../support/postgres.ts';
import { startLocalKinesis } from '../support/kinesis.ts';
import type { LocalKinesis } from '../support/kinesis.ts';
import { complianceEvent } from '../support/events.ts';
import { countProcessed } from '../support/stack-queries.ts';

const logger = pino({ level: 'silent' });

/** A sink whose outage a test switches on and off (a retriable error while down, like an unreachable cluster). */
class SwitchableSink implements Sink<TrackedEvent> {
  readonly name = 'switchable';
  down = false;
  async healthcheck(): Promise<void> {}
  async write(): Promise<WriteOutcome> {
    return this.down ? { status: 'errored', retriable: true, error: new Error('connect ECONNREFUSED') } : { status: 'delivered' };
  }
  async close(): Promise<void> {}
}

async function eventually<T>(probe: () => Promise<T> | T, accept: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Lag must be visible while a sink is down: the age of the oldest uncommitted record grows, then drains to 0. */
describe('shard lag during a sink outage', () => {
  let kinesis: LocalKinesis;
  let database: TestDatabase;
  let runtime: Runtime;
  const sink = new SwitchableSink();
  const metrics = new PipelineMetrics({ defaultMetrics: false });

  beforeAll(async () => {
    kinesis = await startLocalKinesis();
    database = await createTestDatabase();
    runtime = await createRuntime(loadSettings({ DATABASE_URL: database.url, KINESIS_ENDPOINT: kinesis.endpoint }), logger, { sinks: [sink], metrics });
  });

  afterAll(async () => {
    await runtime?.close();
    await database?.drop();
    await kinesis?.close();
  });

  it('grows while the sink is down, shows a stalled batch and retries, and returns to 0 once it recovers', async () => {
    await kinesis.createStream('lag', 1);
    const consumer = new KinesisConsumer({
      client: kinesis.client,
      streamName: 'lag',
      leases: new ShardLeaseManager(runtime.database.db, { streamName: 'lag', owner: 'lag-worker', leaseMs: 30_000 }),
      createProcessor: (shardId) => runtime.createProcessor(shardId),
      batchLimit: 100,
      maxInFlight: 1,
      pollIntervalMs: 200,
      refreshIntervalMs: 300,
      logger,
    });
    const stop = new AbortController();
    const running = consumer.run(stop.signal);
    try {
      const at = Date.parse('2026-03-04T10:00:00Z');
      const put = (ids: string[]) => kinesis.put('lag', ids.map((id) => ({ data: JSON.stringify(complianceEvent({ id, resourceId: `r-${id}`, compliance: 'NON_COMPLIANT', at })), partitionKey: id })));
      await put(['a-1', 'a-2']);
      await eventually(() => countProcessed(runtime.database.db), (n) => n === 2);
      const lagOf = () => [...consumer.shardLags().values()][0] ?? -1;
      expect(await eventually(lagOf, (lag) => lag === 0)).toBe(0);

      const checkpoint = () => runtime.database.db.selectFrom('shard_leases').select('checkpoint').executeTakeFirstOrThrow().then((row) => row.checkpoint);
      const before = await checkpoint();
      sink.down = true;
      await put(['b-1', 'b-2', 'b-3']);
      const first = await eventually(lagOf, (lag) => lag >= 1_000);
      expect(first).toBeGreaterThanOrEqual(1_000);
      expect(await eventually(lagOf, (lag) => lag >= first + 300)).toBeGreaterThanOrEqual(first + 300);
      const stalled = await metrics.registry.getSingleMetric('driftwatch_sink_stalled_batches')!.get();
      expect(stalled.values.find((v) => v.labels.sink === 'switchable')?.value).toBe(1);
      const retries = await metrics.registry.getSingleMetric('driftwatch_sink_retries_total')!.get();
      expect(retries.values.find((v) => v.labels.sink === 'switchable')?.value ?? 0).toBeGreaterThan(0);
      // Postgres decides first and the sink follows, but the checkpoint waits for the sink: nothing is skipped.
      expect(await checkpoint()).toBe(before);

      sink.down = false;
      await eventually(() => countProcessed(runtime.database.db), (n) => n === 5);
      expect(await eventually(checkpoint, (value) => value !== before)).not.toBe(before);
      expect(await eventually(lagOf, (lag) => lag === 0)).toBe(0);
      const after = await metrics.registry.getSingleMetric('driftwatch_sink_stalled_batches')!.get();
      expect(after.values.find((v) => v.labels.sink === 'switchable')?.value).toBe(0);
    } finally {
      stop.abort();
      await running;
    }
  });
});
