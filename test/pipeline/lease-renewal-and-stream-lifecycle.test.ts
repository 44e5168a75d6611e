import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { Migrator, sql } from 'kysely';
import { DeleteStreamCommand, DescribeStreamSummaryCommand, ListShardsCommand, SplitShardCommand } from '@aws-sdk/client-kinesis';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { createKinesisClient } from '../../pipeline/kinesis/kinesis-client.ts';
import { KinesisConsumer } from '../../pipeline/kinesis/kinesis-consumer.ts';
import { ShardLeaseManager } from '../../pipeline/kinesis/shard-lease-manager.ts';
import { describeStreamIdentity } from '../../pipeline/kinesis/stream-identity.ts';
import type { LeaseTables } from '../../pipeline/kinesis/lease-tables.ts';
import { PipelineMetrics } from '../../pipeline/metrics/pipeline-metrics.ts';
import { createRuntime } from '../../pipeline/runtime/create-runtime.ts';
import type { Runtime } from '../../pipeline/runtime/create-runtime.ts';
import { loadSettings } from '../../pipeline/config/load-settings.ts';
import { Migrations, migrateToLatest } from '../../pipeline/store/migrate.ts';
import { createTestDatabase } from '../support/postgres.ts';
import type { TestDatabase } from '../support/postgres.ts';
import { startLocalKinesis } from '../support/kinesis.ts';
import type { LocalKinesis } from '../support/kinesis.ts';
import { KinesisProxy } from '../support/kinesis-proxy.ts';
import { complianceEvent } from '../support/events.ts';

const silent = pino({ level: 'silent' });
const T0 = Date.parse('2026-03-04T10:00:00Z');

/** Polls until `probe` holds; fails the test with `what` after `timeoutMs`. */
async function eventually(what: string, probe: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function capturedLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      callback();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

describe('shard leases: renewal, expired shards, recreated streams', () => {
  let kinesis: LocalKinesis;
  let database: TestDatabase;
  let runtime: Runtime;
  let proxy: KinesisProxy;
  let viaProxy: KinesisClient;

  beforeAll(async () => {
    kinesis = await startLocalKinesis();
    database = await createTestDatabase();
    runtime = await createRuntime(loadSettings({ DATABASE_URL: database.url, KINESIS_ENDPOINT: kinesis.endpoint }), silent);
    proxy = await KinesisProxy.start(kinesis.endpoint);
    viaProxy = createKinesisClient({ region: 'us-east-1', endpoint: proxy.endpoint });
  });

  afterAll(async () => {
    viaProxy?.destroy();
    await proxy?.close();
    await runtime?.close();
    await database?.drop();
    await kinesis?.close();
  });

  const leases = () => runtime.database.db.withTables<LeaseTables>();
  /** Events `<prefix>-<i>` about buckets `<stream>-bucket-<i>` (each test has resources of its own). */
  const events = (stream: string, prefix: string, n: number, compliance: 'NON_COMPLIANT' | 'COMPLIANT', offset = 0) =>
    Array.from({ length: n }, (_, i) => {
      const resourceId = `${stream}-bucket-${i}`;
      return { data: JSON.stringify(complianceEvent({ id: `${prefix}-${i}`, resourceId, compliance, at: T0 + offset + i })), partitionKey: resourceId };
    });
  const processed = async (prefix: string) =>
    Number((await runtime.database.db.selectFrom('processed_events').select((eb) => eb.fn.countAll<string>().as('n')).where('event_id', 'like', `${prefix}-%`).executeTakeFirstOrThrow()).n);

  const consumer = (stream: string, owner: string, options: { client?: KinesisClient; leaseMs?: number; stopWhenCaughtUp?: boolean; logger?: pino.Logger; metrics?: PipelineMetrics } = {}) =>
    new KinesisConsumer({
      client: options.client ?? kinesis.client,
      streamName: stream,
      leases: new ShardLeaseManager(runtime.database.db, { streamName: stream, owner, leaseMs: options.leaseMs ?? 30_000 }),
      createProcessor: (shardId) => runtime.createProcessor(shardId),
      batchLimit: 100,
      maxInFlight: 1,
      pollIntervalMs: 100,
      refreshIntervalMs: Math.floor((options.leaseMs ?? 30_000) / 3),
      logger: options.logger ?? silent,
      stopWhenCaughtUp: options.stopWhenCaughtUp ?? true,
      ...(options.metrics ? { metrics: options.metrics } : {}),
    });

  for (const fault of ['hangs', 'fails'] as const) {
    it(`keeps renewing its leases while ListShards ${fault}, so no other worker takes a shard it is working on`, async () => {
      const stream = `renew-${fault}`;
      await kinesis.createStream(stream, 1);
      await kinesis.put(stream, events(stream, `${stream}-a`, 5, 'NON_COMPLIANT'));
      const stop = new AbortController();
      const running = consumer(stream, 'worker-a', { client: viaProxy, leaseMs: 1_500, stopWhenCaughtUp: false }).run(stop.signal);
      try {
        await eventually('worker-a to process the first records', async () => (await processed(`${stream}-a`)) === 5);
        if (fault === 'hangs') proxy.hang('ListShards');
        else proxy.fail('ListShards', { status: 400, type: 'LimitExceededException', message: 'Rate exceeded for stream' });
        const row = await leases().selectFrom('shard_leases').select(['lease_expires_at']).where('stream_name', '=', stream).executeTakeFirstOrThrow();
        const lapsed = new Date(row.lease_expires_at!);
        // Well past the lease as it stood when discovery broke (on the database's clock, which leases use).
        await eventually('the original lease to lapse', async () => {
          const { rows } = await sql<{ past: boolean }>`select now() > ${lapsed}::timestamptz + interval '1 second' as past`.execute(runtime.database.db);
          return rows[0]!.past;
        });
        const other = new ShardLeaseManager(runtime.database.db, { streamName: stream, owner: 'worker-b', leaseMs: 1_500 });
        await other.useStream(await describeStreamIdentity(kinesis.client, stream));
        expect(await other.acquire(new Set())).toEqual([]);
        const held = await leases().selectFrom('shard_leases').select(['owner', sql<boolean>`lease_expires_at > now()`.as('live')]).where('stream_name', '=', stream).executeTakeFirstOrThrow();
        expect(held).toEqual({ owner: 'worker-a', live: true });
        // And it keeps working: new records still commit under its lease.
        await kinesis.put(stream, events(stream, `${stream}-b`, 5, 'COMPLIANT', 60_000));
        await eventually('worker-a to process records put while discovery is broken', async () => (await processed(`${stream}-b`)) === 5);
        expect(proxy.calls.get('ListShards')).toBeGreaterThan(1);
      } finally {
        proxy.clear();
        stop.abort();
        await running;
      }
    }, 30_000);
  }

  it('finishes a parent shard that expired before it was read to its end, so its children start (log line and metric)', async () => {
    const stream = 'expired-parent';
    await kinesis.createStream(stream, 1);
    await kinesis.put(stream, events(stream, 'before-split', 20, 'NON_COMPLIANT'));
    await consumer(stream, 'worker-a').run(new AbortController().signal);
    expect(await processed('before-split')).toBe(20);
    const [parent] = (await kinesis.client.send(new ListShardsCommand({ StreamName: stream }))).Shards!;
    await kinesis.client.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: parent!.ShardId!, NewStartingHashKey: (2n ** 127n).toString() }));
    await eventually('the split', async () => (await kinesis.client.send(new DescribeStreamSummaryCommand({ StreamName: stream }))).StreamDescriptionSummary?.StreamStatus === 'ACTIVE');
    await kinesis.put(stream, events(stream, 'after-split', 20, 'COMPLIANT', 60_000));
    // Consumers were down longer than the retention period: the closed parent is gone from the stream.
    proxy.expireShard(parent!.ShardId!);

    const { logger, lines } = capturedLogger();
    const metrics = new PipelineMetrics({ defaultMetrics: false });
    const giveUp = AbortSignal.timeout(20_000);
    await consumer(stream, 'worker-a', { client: viaProxy, logger, metrics }).run(giveUp);

    expect(giveUp.aborted, 'the children never started').toBe(false);
    expect(await processed('after-split')).toBe(20);
    const rows = await leases().selectFrom('shard_leases').select(['shard_id', 'finished', 'expired_at']).where('stream_name', '=', stream).orderBy('shard_id').execute();
    expect(rows).toHaveLength(3);
    expect(rows.find((r) => r.shard_id === parent!.ShardId)).toMatchObject({ finished: true, expired_at: expect.any(Date) });
    expect(rows.filter((r) => r.shard_id !== parent!.ShardId).every((r) => r.expired_at === null)).toBe(true);
    expect(lines.filter((l) => l.shardId === parent!.ShardId && String(l.msg).startsWith('shard expired before it was read to its end'))).toHaveLength(1);
    expect((await metrics.shardsExpired.get()).values[0]?.value).toBe(1);
    const findings = await runtime.database.db.selectFrom('findings').select(['status']).where('resource_id', 'like', `${stream}-bucket-%`).where('opened_event_id', 'like', 'before-split-%').execute();
    expect(findings).toHaveLength(20);
    expect(findings.every((f) => f.status === 'resolved')).toBe(true);
  }, 30_000);

  it('a stream recreated under the same name starts from its own beginning, not from the old checkpoints', async () => {
    const stream = 'recreated';
    await kinesis.createStream(stream, 1);
    await kinesis.put(stream, events(stream, 'first-life', 30, 'NON_COMPLIANT'));
    await consumer(stream, 'worker-a').run(new AbortController().signal);
    expect(await processed('first-life')).toBe(30);

    await kinesis.client.send(new DeleteStreamCommand({ StreamName: stream }));
    await eventually('the deletion', async () => (await kinesis.client.send(new DescribeStreamSummaryCommand({ StreamName: stream })).then(() => false, () => true)));
    // Creation times have a resolution of one second: the new stream must not share the old one's.
    const first = await leases().selectFrom('shard_leases').select('stream_id').where('stream_name', '=', stream).executeTakeFirstOrThrow();
    await new Promise((r) => setTimeout(r, 1_100));
    await kinesis.createStream(stream, 1);
    // Fewer records than before: read from the old checkpoint, every one of them would be skipped.
    await kinesis.put(stream, events(stream, 'second-life', 10, 'COMPLIANT', 60_000));
    await consumer(stream, 'worker-a').run(AbortSignal.timeout(20_000));

    expect(await processed('second-life')).toBe(10);
    const rows = await leases().selectFrom('shard_leases').select(['stream_id', 'shard_id']).where('stream_name', '=', stream).orderBy('updated_at').execute();
    expect(rows).toHaveLength(2);
    expect(rows.map((r) => r.shard_id)).toEqual(['shardId-000000000000', 'shardId-000000000000']);
    expect(rows[0]!.stream_id).toBe(first.stream_id);
    expect(rows[1]!.stream_id).not.toBe(first.stream_id);
    expect(rows[1]!.stream_id).toMatch(/^arn:aws:kinesis:[^@]+:stream\/recreated@\d{4}-/);
  }, 30_000);

  it('binds leases written before migration 0006 to the live stream, unless they are older than it', async () => {
    const db = leases();
    for (const [stream, updatedAt] of [['legacy-live', new Date()], ['legacy-dead', new Date('2020-01-01T00:00:00Z')]] as const) {
      await kinesis.createStream(stream, 1);
      const sequence = await kinesis.put(stream, events(stream, `${stream}-x`, 10, 'NON_COMPLIANT'));
      // What 0006 leaves of a row written by an older version: unbound, checkpoint after the 4th record.
      await db.insertInto('shard_leases').values({
        stream_id: `unbound:${stream}`,
        stream_name: stream,
        shard_id: 'shardId-000000000000',
        parent_shard_ids: [],
        owner: null,
        lease_expires_at: null,
        checkpoint: sequence[3]!,
        updated_at: updatedAt,
      }).execute();
      await consumer(stream, 'worker-a').run(AbortSignal.timeout(20_000));
    }
    // Written while the live stream existed: its checkpoint holds, only the 6 records after it are read.
    expect(await processed('legacy-live-x')).toBe(6);
    // Older than the stream: a dead stream's row, ignored; the stream is read from its beginning.
    expect(await processed('legacy-dead-x')).toBe(10);
    const rows = await db.selectFrom('shard_leases').select(['stream_name', 'stream_id']).where('stream_name', 'in', ['legacy-live', 'legacy-dead']).orderBy('stream_name').orderBy('stream_id').execute();
    expect(rows.map((r) => [r.stream_name, r.stream_id.startsWith('arn:') ? 'bound' : r.stream_id])).toEqual([
      ['legacy-dead', 'bound'],
      ['legacy-dead', 'unbound:legacy-dead'],
      ['legacy-live', 'bound'],
    ]);
  }, 30_000);
});

describe('migration 0006 on a database with leases and digests', () => {
  it('keeps every lease row (unbound until a consumer binds it), continues lease tokens, and splits digest retry times from claims', async () => {
    const database = await createTestDatabase({ migrate: false });
    try {
      const db = database.db;
      const migrator = new Migrator({ db, provider: { getMigrations: async () => Migrations } });
      expect((await migrator.migrateTo('0004-finding-facts-sync')).error).toBeUndefined();
      await sql`insert into shard_leases (stream_name, shard_id, owner, lease_token, lease_expires_at, checkpoint)
                values ('old', 'shardId-000000000000', 'host-1', 41, now() - interval '1 minute', '495')`.execute(db);
      const retryAt = new Date('2026-03-04T10:00:00Z');
      await sql`insert into slack_digests (digest_id, channel, rule, kind, state, claimed_until, started_at, active_until, created_at, updated_at)
                values ('d1', '#c', 'r', 'opened', 'pending', ${retryAt}, now(), now(), now(), now())`.execute(db);
      expect(await migrateToLatest(db)).toContain('0006-stream-identity-and-claims');

      const row = await db.withTables<LeaseTables>().selectFrom('shard_leases').select(['stream_id', 'checkpoint', 'lease_token']).executeTakeFirstOrThrow();
      expect(row).toEqual({ stream_id: 'unbound:old', checkpoint: '495', lease_token: '41' });
      const { rows } = await sql<{ next: string }>`select nextval('shard_lease_token_seq')::text as next`.execute(db);
      expect(BigInt(rows[0]!.next)).toBeGreaterThan(41n);
      const digest = await sql<{ available_at: Date }>`select available_at from slack_digests where digest_id = 'd1'`.execute(db);
      expect(digest.rows[0]!.available_at).toEqual(retryAt);
    } finally {
      await database.drop();
    }
  });
});
