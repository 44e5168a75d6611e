import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../../pipeline/config/load-settings.ts';
import { KinesisConsumer } from '../../pipeline/kinesis/kinesis-consumer.ts';
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
import { capturedLogger } from '../support/captured-logger.ts';

const BatchSize = 5;
const RewindLimit = 3;

/**
 * How one run interleaves batch A (the first) and batch B (the second, whose commit fails at every attempt because of
 * one record): B's failures always happen while A is in its sink phase, in the attempts where A is read at all.
 */
interface Scenario {
  readonly name: string;
  /** A's first this many sink writes are held until B's commit has failed as often (B fails while A is settling). */
  readonly heldWrites: number;
  /** Of those, the first this many then fail for a transient reason (a dropped connection): the shard reads A again. */
  readonly failedWrites: number;
  /** Once A's writes stop failing, B's next commit fails only after A has settled (the other order of the race). */
  readonly failAfterSettle: boolean;
}

const wait = async (condition: () => boolean): Promise<void> => {
  // Bounded, so a broken interleaving fails the assertions below instead of hanging the test.
  for (let i = 0; i < 1_000 && !condition(); i++) await sleep(10);
};

/** The sink and the commit hook of the run under way: A's writes and B's commit failures, as the scenario says. */
class Interleaving implements Sink<TrackedEvent> {
  readonly name = 'interleaving';
  readonly stored = new Set<string>();
  scenario!: Scenario;
  firstOfA = '';
  poison = '';
  writesOfA = 0;
  failuresOfB = 0;
  settles = 0;

  start(scenario: Scenario, firstOfA: string, poison: string): void {
    this.scenario = scenario;
    this.firstOfA = firstOfA;
    this.poison = poison;
    this.writesOfA = 0;
    this.failuresOfB = 0;
    this.settles = 0;
  }

  async healthcheck(): Promise<void> {}

  async write(batch: Batch<TrackedEvent>): Promise<WriteOutcome> {
    const ids = batch.items.map((item) => item.value.event.eventId);
    if (ids.includes(this.firstOfA)) {
      const write = ++this.writesOfA;
      if (write <= this.scenario.heldWrites) await wait(() => this.failuresOfB >= write);
      if (write <= this.scenario.failedWrites) throw Object.assign(new Error('socket hang up (test)'), { code: 'ECONNRESET' });
    }
    for (const id of ids) this.stored.add(id);
    return { status: 'delivered' };
  }

  async beforeCommit(batch: HookedBatch): Promise<void> {
    if (!batch.eventIds.includes(this.poison)) return;
    if (batch.eventIds.length === BatchSize) {
      const { failAfterSettle, failedWrites } = this.scenario;
      // A is read (and written successfully) in this attempt only while it has never settled.
      if (failAfterSettle && this.settles === 0 && this.failuresOfB >= failedWrites) await wait(() => this.settles > 0);
      this.failuresOfB++;
    }
    // Not a store refusal ('other'): only the rewind limit isolates it.
    throw new Error('stage bug on this record (test)');
  }

  async close(): Promise<void> {}
}

describe('a batch whose commit keeps failing while the batch before it is in its sink phase (overlapped batches)', () => {
  let kinesis: LocalKinesis;
  let database: TestDatabase;
  let runtime: Runtime;
  const interleaving = new Interleaving();
  const lines: { msg: string; failures?: number }[] = [];
  const logger = capturedLogger(lines);

  beforeAll(async () => {
    kinesis = await startLocalKinesis();
    database = await createTestDatabase();
    runtime = await createRuntime(loadSettings({ DATABASE_URL: database.url, KINESIS_ENDPOINT: kinesis.endpoint }), logger, {
      sinks: [interleaving],
      processorHooks: { beforeCommit: (batch) => interleaving.beforeCommit(batch) },
    });
  });

  afterAll(async () => {
    await runtime?.close();
    await database?.drop();
    await kinesis?.close();
  });

  const scenarios: readonly Scenario[] = [
    { name: 'B fails while A settles, A then settles', heldWrites: 1, failedWrites: 0, failAfterSettle: false },
    { name: 'A fails too, is read again and settles before B fails again', heldWrites: 1, failedWrites: 1, failAfterSettle: true },
    { name: 'A fails with B until B is due for isolation, then settles', heldWrites: RewindLimit, failedWrites: RewindLimit, failAfterSettle: false },
  ];

  for (const [index, scenario] of scenarios.entries()) {
    it(`${scenario.name}: B is isolated after ${RewindLimit} failed attempts, each counted once`, async () => {
      const stream = `overlap-limit-${index}`;
      await kinesis.createStream(stream, 1);
      const at = Date.parse('2026-03-04T10:00:00Z');
      const ids = Array.from({ length: 3 * BatchSize }, (_, i) => (i === BatchSize + 2 ? `poison-${index}` : `event-${index}-${i}`));
      const sequences = await kinesis.put(stream, ids.map((id, i) => ({ data: JSON.stringify(complianceEvent({ id, resourceId: `r-${index}-${i}`, compliance: 'NON_COMPLIANT', at })), partitionKey: 'one' })));
      interleaving.start(scenario, ids[0]!, `poison-${index}`);
      const from = lines.length;
      const consumer = new KinesisConsumer({
        client: kinesis.client,
        streamName: stream,
        leases: new ShardLeaseManager(runtime.database.db, { streamName: stream, owner: 'overlap-limit-test', leaseMs: 60_000 }),
        createProcessor: (shardId) => runtime.createProcessor(shardId),
        batchLimit: BatchSize,
        maxInFlight: 1,
        pollIntervalMs: 100,
        refreshIntervalMs: 300,
        logger,
        onBatch: () => interleaving.settles++,
        stopWhenCaughtUp: true,
      });
      await consumer.run(AbortSignal.timeout(90_000));
      const run = lines.slice(from);

      // The interleaving happened as described: A written (and failed) as often as the scenario says.
      expect(interleaving.writesOfA).toBeGreaterThan(scenario.failedWrites);
      // Every failed attempt at B counted once: exactly RewindLimit rewinds, then B's records were isolated.
      expect(run.filter((line) => line.msg === 'shard processing failed, rewinding to checkpoint')).toHaveLength(RewindLimit);
      expect(interleaving.failuresOfB).toBe(RewindLimit + 1);
      expect(run.filter((line) => line.msg.startsWith('batch keeps failing at the same record')).map((line) => line.failures)).toEqual([RewindLimit]);

      const letters = await runtime.database.db.selectFrom('dead_letters').select(['stage', 'raw']).where('sequence_number', '=', sequences[BatchSize + 2]!).execute();
      expect(letters.map((letter) => [letter.stage, JSON.parse(Buffer.from(letter.raw).toString()).id])).toEqual([['process', `poison-${index}`]]);
      expect([...interleaving.stored].filter((id) => id.startsWith(`event-${index}-`)).sort()).toEqual(ids.filter((id) => !id.startsWith('poison')).sort());
      const lease = await runtime.database.db.selectFrom('shard_leases').select('checkpoint').where('stream_name', '=', stream).executeTakeFirstOrThrow();
      expect(lease.checkpoint).toBe(sequences.at(-1));
    }, 120_000);
  }
});
