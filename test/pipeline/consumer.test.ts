import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { KinesisConsumer } from '../../pipeline/kinesis/kinesis-consumer.ts';
import { ShardLeaseManager } from '../../pipeline/kinesis/shard-lease-manager.ts';
import { createSyntheticOrg, generateTraffic } from '../../pipeline/demo/synthetic-org.ts';
import type { Delivery } from '../../pipeline/demo/synthetic-org.ts';
import { createRuntime } from '../../pipeline/runtime/create-runtime.ts';
import type { Runtime } from '../../pipeline/runtime/create-runtime.ts';
import { loadSettings } from '../../pipeline/config/load-settings.ts';
import { RuleCatalog } from '../../stages/enrich/rule-catalog.ts';
import { createTestDatabase } from '../support/postgres.ts';
import type { TestDatabase } from '../support/postgres.ts';
import { startLocalKinesis } from '../support/kinesis.ts';
import type { LocalKinesis } from '../support/kinesis.ts';
import { expectedFindingRows } from '../support/oracle.ts';
import { writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

describe('Kinesis consumer end to end', () => {
  let kinesis: LocalKinesis;
  let database: TestDatabase;
  let runtime: Runtime;
  const org = createSyntheticOrg({ accounts: 120, seed: 11 });
  const catalog = RuleCatalog.builtIn();

  beforeAll(async () => {
    kinesis = await startLocalKinesis();
    database = await createTestDatabase();
    const dir = await mkdtemp(join(tmpdir(), 'dw-'));
    const accountsFile = join(dir, 'accounts.json');
    await writeFile(accountsFile, JSON.stringify({ accounts: org.accounts }));
    runtime = await createRuntime(
      loadSettings({ DATABASE_URL: database.url, KINESIS_ENDPOINT: kinesis.endpoint, DRIFTWATCH_ACCOUNTS: accountsFile }),
      logger,
    );
  });

  afterAll(async () => {
    await runtime?.close();
    await database?.drop();
    await kinesis?.close();
  });

  it('turns 10,000 deliveries over 4 shards into the findings an independent oracle expects', async () => {
    await kinesis.createStream('oracle', 4);
    const deliveries: Delivery[] = [...generateTraffic(org, { deliveries: 10_000, seed: 5, duplicateRate: 0.05, outOfOrderRate: 0.05, malformedRate: 0.003 })];
    await kinesis.put('oracle', deliveries);
    // An oversize record (AWS allows 1 MiB; driftwatch's limit is 256 KiB) must become a dead letter too.
    await kinesis.put('oracle', [{ data: Buffer.alloc(300_000, 'x'), partitionKey: 'oversize' }]);
    const consumer = new KinesisConsumer({
      client: kinesis.client,
      streamName: 'oracle',
      leases: new ShardLeaseManager(runtime.database.db, { streamName: 'oracle', owner: 'test-worker', leaseMs: 30_000 }),
      createProcessor: (shardId) => runtime.createProcessor(shardId),
      batchLimit: 1_000,
      maxInFlight: 2,
      pollIntervalMs: 200,
      refreshIntervalMs: 300,
      logger,
      stopWhenCaughtUp: true,
    });
    await consumer.run(new AbortController().signal);

    const rows = await runtime.database.db.selectFrom('findings').select(['evaluation_key', 'opened_event_id', 'status']).execute();
    const actual = rows.map((r) => `${r.evaluation_key}#${r.opened_event_id}#${r.status}`).sort();
    const expected = expectedFindingRows(deliveries, org.accounts, (rule) => catalog.lookup(rule).rule.scope);
    expect(actual.length).toBeGreaterThan(1_000);
    expect(actual).toEqual(expected);

    const malformed = deliveries.filter((d) => d.kind === 'malformed').length;
    const deadLetters = await runtime.database.db.selectFrom('dead_letters').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    expect(Number(deadLetters.n)).toBe(malformed + 1);
    const oversize = await runtime.database.db.selectFrom('dead_letters').selectAll().where('reason', 'like', '%over the 262144-byte limit%').execute();
    expect(oversize).toHaveLength(1);
    expect(oversize[0]!.raw.byteLength).toBe(300_000);
    expect(oversize[0]!.shard_id).toMatch(/^shardId-/);
  });
});
