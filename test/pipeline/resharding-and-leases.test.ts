import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { ListShardsCommand, SplitShardCommand, DescribeStreamSummaryCommand } from '@aws-sdk/client-kinesis';
import { KinesisConsumer } from '../../pipeline/kinesis/kinesis-consumer.ts';
import { ShardLeaseManager } from '../../pipeline/kinesis/shard-lease-manager.ts';
import { describeStreamIdentity } from '../../pipeline/kinesis/stream-identity.ts';
import { createRuntime } from '../../pipeline/runtime/create-runtime.ts';
import type { Runtime } from '../../pipeline/runtime/create-runtime.ts';
import { loadSettings } from '../../pipeline/config/load-settings.ts';
import { LeaseLostError } from '../../pipeline/types/lease-lost-error.ts';
import { createTestDatabase } from '../support/postgres.ts';
import type { TestDatabase } from '../support/postgres.ts';
import { startLocalKinesis } from '../support/kinesis.ts';
import type { LocalKinesis } from '../support/kinesis.ts';
import { complianceEvent } from '../support/events.ts';

const logger = pino({ level: 'silent' });

describe('resharding and shard leases', () => {
  let kinesis: LocalKinesis;
  let database: TestDatabase;
  let runtime: Runtime;

  beforeAll(async () => {
    kinesis = await startLocalKinesis();
    database = await createTestDatabase();
    runtime = await createRuntime(loadSettings({ DATABASE_URL: database.url, KINESIS_ENDPOINT: kinesis.endpoint }), logger);
  });

  afterAll(async () => {
    await runtime?.close();
    await database?.drop();
    await kinesis?.close();
  });

  const consumerFor = (stream: string, owner: string) =>
    new KinesisConsumer({
      client: kinesis.client,
      streamName: stream,
      leases: new ShardLeaseManager(runtime.database.db, { streamName: stream, owner, leaseMs: 30_000 }),
      createProcessor: (shardId) => runtime.createProcessor(shardId),
      batchLimit: 100,
      maxInFlight: 2,
      pollIntervalMs: 200,
      refreshIntervalMs: 200,
      logger,
      stopWhenCaughtUp: true,
    });

  it('a worker at its shard limit holds no more, and says that ready shards wait for a worker', async () => {
    await kinesis.createStream('capped', 3);
    await kinesis.put('capped', Array.from({ length: 30 }, (_, i) => ({ data: JSON.stringify(complianceEvent({ id: `capped-${i}`, resourceId: `bucket-${i}`, compliance: 'NON_COMPLIANT', at: Date.parse('2026-03-04T10:00:00Z') + i })), partitionKey: `bucket-${i}` })));
    const lines: { msg: string; held?: number; waiting?: number }[] = [];
    const capturing = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const consumer = new KinesisConsumer({
      client: kinesis.client,
      streamName: 'capped',
      leases: new ShardLeaseManager(runtime.database.db, { streamName: 'capped', owner: 'worker-capped', leaseMs: 30_000, maxShards: 1 }),
      createProcessor: (shardId) => runtime.createProcessor(shardId),
      batchLimit: 100,
      maxInFlight: 1,
      pollIntervalMs: 200,
      refreshIntervalMs: 200,
      logger: capturing,
      stopWhenCaughtUp: true,
    });
    await consumer.run(new AbortController().signal);
    // Caught up on the one shard it held; the two others were never read.
    const read = await runtime.database.db.selectFrom('shard_leases').select('shard_id').where('stream_name', '=', 'capped').where('checkpoint', 'is not', null).execute();
    expect(read.length).toBeLessThanOrEqual(1);
    expect(lines.filter((l) => l.msg.startsWith('shards wait for a worker'))).toEqual([expect.objectContaining({ held: 1, waiting: 2 })]);
  });

  it('reads a split shard parent-first, so a fix written after the split resolves the finding opened before it', async () => {
    await kinesis.createStream('split', 1);
    const resources = Array.from({ length: 40 }, (_, i) => `bucket-${i}`);
    const t0 = Date.parse('2026-03-04T10:00:00Z');
    // Before the split: every bucket drifts to NON_COMPLIANT (in the parent shard).
    await kinesis.put('split', resources.map((id, i) => ({ data: JSON.stringify(complianceEvent({ id: `open-${i}`, resourceId: id, compliance: 'NON_COMPLIANT', at: t0 + i })), partitionKey: id })));
    const [parent] = (await kinesis.client.send(new ListShardsCommand({ StreamName: 'split' }))).Shards!;
    await kinesis.client.send(new SplitShardCommand({ StreamName: 'split', ShardToSplit: parent!.ShardId!, NewStartingHashKey: (2n ** 127n).toString() }));
    for (let i = 0; i < 100; i++) {
      const status = (await kinesis.client.send(new DescribeStreamSummaryCommand({ StreamName: 'split' }))).StreamDescriptionSummary?.StreamStatus;
      if (status === 'ACTIVE') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    // After the split: every bucket is fixed (in the children). Read child-first, the fix would be ignored as stale.
    await kinesis.put('split', resources.map((id, i) => ({ data: JSON.stringify(complianceEvent({ id: `fix-${i}`, resourceId: id, compliance: 'COMPLIANT', at: t0 + 60_000 + i })), partitionKey: id })));

    await consumerFor('split', 'worker-a').run(new AbortController().signal);

    const shards = await runtime.database.db.selectFrom('shard_leases').selectAll().where('stream_name', '=', 'split').orderBy('shard_id').execute();
    expect(shards).toHaveLength(3);
    const parentRow = shards.find((s) => s.shard_id === parent!.ShardId)!;
    expect(parentRow.finished).toBe(true);
    const children = shards.filter((s) => s.shard_id !== parent!.ShardId);
    expect(children.every((c) => c.parent_shard_ids.includes(parent!.ShardId!))).toBe(true);
    const findings = await runtime.database.db.selectFrom('findings').select(['status', 'resolution']).where('rule', '=', 's3-bucket-public-write-prohibited').execute();
    expect(findings).toHaveLength(40);
    expect(findings.every((f) => f.status === 'resolved' && f.resolution === 'COMPLIANT')).toBe(true);
  });

  it('fences a worker whose lease was taken: its commit rolls back and nothing it wrote is visible', async () => {
    await kinesis.createStream('fenced', 1);
    const db = runtime.database.db;
    const a = new ShardLeaseManager(db, { streamName: 'fenced', owner: 'worker-a', leaseMs: 30_000 });
    const b = new ShardLeaseManager(db, { streamName: 'fenced', owner: 'worker-b', leaseMs: 30_000 });
    const shards = (await kinesis.client.send(new ListShardsCommand({ StreamName: 'fenced' }))).Shards!;
    const stream = await describeStreamIdentity(kinesis.client, 'fenced');
    await a.useStream(stream);
    await b.useStream(stream);
    await a.sync(shards.map((s) => ({ shardId: s.ShardId!, parentShardIds: [], closed: false })));
    const [leaseA] = await a.acquire(new Set());
    expect(leaseA).toBeDefined();
    expect(await b.acquire(new Set())).toEqual([]); // held and not expired
    // Worker A stalls past its lease; worker B takes the shard over with a newer token.
    await db.updateTable('shard_leases').set({ lease_expires_at: new Date(Date.now() - 1_000) }).where('stream_name', '=', 'fenced').execute();
    const [leaseB] = await b.acquire(new Set());
    expect(BigInt(leaseB!.leaseToken)).toBeGreaterThan(BigInt(leaseA!.leaseToken));

    const processor = runtime.createProcessor(leaseA!.shardId);
    const record = { origin: { shardId: leaseA!.shardId, sequenceNumber: '100' }, value: { data: Buffer.from(JSON.stringify(complianceEvent({ id: 'fenced-1', resourceId: 'fenced-bucket', compliance: 'NON_COMPLIANT', at: Date.parse('2026-03-04T10:00:00Z') }))) } };
    await expect(
      processor.process(leaseA!.shardId, [record], { streamName: 'fenced', shardId: leaseA!.shardId, sequenceNumber: '100', owner: 'worker-a', leaseToken: leaseA!.leaseToken }, 'kinesis', new AbortController().signal),
    ).rejects.toBeInstanceOf(LeaseLostError);
    expect(await db.selectFrom('findings').selectAll().where('resource_id', '=', 'fenced-bucket').execute()).toEqual([]);
    expect(await db.selectFrom('processed_events').selectAll().where('event_id', '=', 'fenced-1').execute()).toEqual([]);
    expect(await a.renew([leaseA!])).toEqual([leaseA!.shardId]);
    expect(await b.renew([leaseB!])).toEqual([]);
  });
});
