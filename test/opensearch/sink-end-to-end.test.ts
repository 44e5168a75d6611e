import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@opensearch-project/opensearch';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../../pipeline/config/load-settings.ts';
import { createSyntheticOrg, generateTraffic } from '../../pipeline/demo/synthetic-org.ts';
import type { Delivery } from '../../pipeline/demo/synthetic-org.ts';
import { KinesisConsumer } from '../../pipeline/kinesis/kinesis-consumer.ts';
import { ShardLeaseManager } from '../../pipeline/kinesis/shard-lease-manager.ts';
import { createRuntime } from '../../pipeline/runtime/create-runtime.ts';
import { createOpenSearchClient } from '../../pipeline/sinks/opensearch/client.ts';
import { openSearchConfigFromSettings } from '../../pipeline/sinks/opensearch/config.ts';
import { createOpenSearchSink } from '../../pipeline/sinks/opensearch/create-opensearch-sink.ts';
import { installOpenSearchIndices } from '../../pipeline/sinks/opensearch/install-opensearch-indices.ts';
import type { ComplianceChangeEvent } from '../../schemas/compliance-change-event.ts';
import type { Settings } from '../../schemas/settings.ts';
import { RuleCatalog } from '../../stages/enrich/rule-catalog.ts';
import { startLocalKinesis } from '../support/kinesis.ts';
import type { LocalKinesis } from '../support/kinesis.ts';
import { ensureOpenSearch } from '../support/opensearch.ts';
import { createTestDatabase } from '../support/postgres.ts';
import type { TestDatabase } from '../support/postgres.ts';
import { assertionClient, allDocs, countDocs, dropIndices, testIndexPrefix } from './support/opensearch-test-index.ts';
import { OutageProxy, waitUntil } from './support/outage-proxy.ts';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const org = createSyntheticOrg({ accounts: 60, seed: 21 });
const catalog = RuleCatalog.builtIn();

describe('OpenSearch sink end to end (Kinesis -> stages -> OpenSearch + Postgres)', () => {
  let openSearchUrl: string;
  let kinesis: LocalKinesis;
  let assert: Client;
  let accountsFile: string;
  const prefix = testIndexPrefix();
  const databases: TestDatabase[] = [];

  beforeAll(async () => {
    openSearchUrl = await ensureOpenSearch();
    kinesis = await startLocalKinesis();
    assert = assertionClient(openSearchUrl);
    const dir = await mkdtemp(join(tmpdir(), 'dw-os-'));
    accountsFile = join(dir, 'accounts.json');
    await writeFile(accountsFile, JSON.stringify({ accounts: org.accounts }));
    for (const p of [prefix, `${prefix}-m`]) {
      const settings = settingsFor(openSearchUrl, p, 'unused');
      const client = createOpenSearchClient(openSearchConfigFromSettings(settings)!);
      await installOpenSearchIndices(client, settings);
      await client.close();
    }
  });

  afterAll(async () => {
    if (assert) {
      await dropIndices(assert, prefix);
      await assert.close();
    }
    for (const database of databases) await database.drop();
    await kinesis?.close();
  });

  function settingsFor(url: string, indexPrefix: string, databaseUrl: string): Settings {
    return loadSettings({
      DATABASE_URL: databaseUrl.startsWith('postgres') ? databaseUrl : 'postgres://unused@127.0.0.1/unused',
      KINESIS_ENDPOINT: kinesis?.endpoint ?? 'http://127.0.0.1:1',
      DRIFTWATCH_ACCOUNTS: accountsFile ?? '',
      OPENSEARCH_URL: url,
      OPENSEARCH_INDEX_PREFIX: indexPrefix,
    });
  }

  /** One full pass of a stream through a fresh runtime with the OpenSearch sink; stops when caught up. */
  async function consume(stream: string, options: { url?: string; indexPrefix?: string; batchLimit?: number; onStart?: (database: TestDatabase) => void } = {}) {
    const database = await createTestDatabase();
    databases.push(database);
    const settings = settingsFor(options.url ?? openSearchUrl, options.indexPrefix ?? prefix, database.url);
    const sink = (await createOpenSearchSink(settings, logger))!;
    await sink.healthcheck(AbortSignal.timeout(10_000));
    const runtime = await createRuntime(settings, logger, { sinks: [sink] });
    try {
      const consumer = new KinesisConsumer({
        client: kinesis.client,
        streamName: stream,
        leases: new ShardLeaseManager(runtime.database.db, { streamName: stream, owner: 'os-test', leaseMs: 60_000 }),
        createProcessor: (shardId) => runtime.createProcessor(shardId),
        batchLimit: options.batchLimit ?? 1_000,
        maxInFlight: 2,
        pollIntervalMs: 200,
        refreshIntervalMs: 300,
        logger,
        stopWhenCaughtUp: true,
      });
      options.onStart?.(database);
      await consumer.run(new AbortController().signal);
    } finally {
      await runtime.close();
    }
    return database;
  }

  async function postgresTruth(database: TestDatabase) {
    const processed = await database.db.selectFrom('processed_events').select('event_id').execute();
    const findings = await database.db.selectFrom('findings').select(['finding_id', 'status']).execute();
    const deadLetters = await database.db.selectFrom('dead_letters').select(['stage', 'reason', 'sequence_number']).execute();
    return {
      eventIds: new Set(processed.map((r) => r.event_id)),
      findings: findings.map((r) => `${r.finding_id}:${r.status}`).sort(),
      sinkDeadLetters: deadLetters.filter((d) => d.stage === 'sink:opensearch'),
    };
  }

  async function openSearchTruth(indexPrefix: string) {
    const events = await allDocs(assert, `${indexPrefix}-events-*`, 'eventId');
    const findings = await allDocs(assert, `${indexPrefix}-findings`, 'findingId');
    return { events, findings: [...findings].map(([id, doc]) => `${id}:${String(doc.source.status)}`).sort(), findingDocs: findings };
  }

  const deliveries: Delivery[] = [...generateTraffic(org, { deliveries: 3_000, seed: 8, duplicateRate: 0.05, outOfOrderRate: 0.05, malformedRate: 0.003 })];
  let firstPass: Awaited<ReturnType<typeof openSearchTruth>>;

  it('indexes every accepted event, enriched, and the current state of every finding', async () => {
    await kinesis.createStream('e2e', 2);
    await kinesis.put('e2e', deliveries);
    const database = await consume('e2e');
    const truth = await postgresTruth(database);
    const os = await openSearchTruth(prefix);
    firstPass = os;

    expect(truth.sinkDeadLetters).toEqual([]);
    expect(truth.eventIds.size).toBeGreaterThan(2_500);
    expect(new Set(os.events.keys())).toEqual(truth.eventIds);
    expect(os.findings.length).toBeGreaterThan(300);
    expect(os.findings).toEqual(truth.findings);

    // One event checked field by field against its source and the registry/catalog.
    const sample = deliveries.find((d) => d.event?.detail.newEvaluationResult?.complianceType === 'NON_COMPLIANT')!.event!;
    const account = org.accounts.find((a) => a.id === sample.detail.awsAccountId)!;
    const doc = os.events.get(sample.id)!.source;
    const qualifier = sample.detail.newEvaluationResult!.evaluationResultIdentifier.evaluationResultQualifier;
    expect(doc).toMatchObject({
      eventId: sample.id,
      '@timestamp': new Date(Date.parse(sample.detail.newEvaluationResult!.evaluationResultIdentifier.orderingTimestamp)).toISOString(),
      accountId: account.id,
      accountName: account.name,
      owner: account.owner,
      environment: account.environment,
      region: sample.detail.awsRegion,
      configRuleName: qualifier.configRuleName,
      resourceType: qualifier.resourceType,
      resourceId: qualifier.resourceId,
      compliance: 'NON_COMPLIANT',
    });
    expect(doc.severity).toBe(catalog.lookup(String(doc.rule)).rule.severity);
    expect(['opened', 'unchanged', 'recorded', 'stale']).toContain(doc.transition);

    // Out-of-order deliveries are logged as stale events that point at no finding.
    const stale = [...os.events.values()].filter((e) => e.source.transition === 'stale');
    expect(stale.length).toBeGreaterThan(0);
    expect(stale.every((e) => e.source.findingId === null)).toBe(true);
    // Resolved findings know how long they took.
    const resolved = [...os.findingDocs.values()].find((f) => f.source.status === 'resolved')!.source;
    expect(resolved.timeToResolveMs).toBe(Date.parse(String(resolved.resolvedAt)) - Date.parse(String(resolved.openedAt)));
  });

  it('replaying the same events (fresh state store) overwrites documents instead of duplicating them', async () => {
    expect(firstPass).toBeDefined();
    await consume('e2e');
    const replay = await openSearchTruth(prefix);
    expect(replay.events.size).toBe(firstPass.events.size);
    expect(replay.findings).toEqual(firstPass.findings);
    // Every event document with an effect was written again (version 2), with the same content; a stale event's
    // document is only ever created, never overwritten (its first effect may be another one), so it stays version 1.
    const stale = [...replay.events.values()].filter((e) => e.source.transition === 'stale');
    expect(stale.length).toBeGreaterThan(0);
    expect(stale.every((e) => e.version === 1)).toBe(true);
    expect([...replay.events.values()].filter((e) => e.source.transition !== 'stale').every((e) => e.version === 2)).toBe(true);
    for (const [id, doc] of replay.events) expect(doc.source).toEqual(firstPass.events.get(id)!.source);
  });

  it('dead-letters a document OpenSearch refuses (mapping conflict) while its batch-mates are indexed', async () => {
    const p = `${prefix}-m`;
    // January's index maps resourceId as a number: a text resource id in January cannot be indexed there.
    await assert.transport.request({ method: 'PUT', path: `/${p}-events-2026.01`, body: { mappings: { properties: { resourceId: { type: 'long' } } } } });
    const batchMates = [...generateTraffic(org, { deliveries: 200, seed: 31, duplicateRate: 0, outOfOrderRate: 0, malformedRate: 0 })];
    const template = batchMates[0]!.event!;
    const bad = januaryEvent(template, 'bucket-not-a-number');
    const all = [...batchMates.slice(0, 100), { kind: 'event' as const, data: Buffer.from(JSON.stringify(bad)), partitionKey: bad.detail.resourceId, event: bad }, ...batchMates.slice(100)];
    await kinesis.createStream('mapping', 1);
    const sequenceNumbers = await kinesis.put('mapping', all);
    const database = await consume('mapping', { indexPrefix: p });

    const truth = await postgresTruth(database);
    expect(truth.sinkDeadLetters).toHaveLength(1);
    expect(truth.sinkDeadLetters[0]!.sequence_number).toBe(sequenceNumbers[100]);
    expect(truth.sinkDeadLetters[0]!.reason).toMatch(/mapper_parsing_exception|document_parsing_exception/);
    expect(await countDocs(assert, `${p}-events-2026.03`)).toBe(200);
    expect(await countDocs(assert, `${p}-events-2026.01`)).toBe(0);
    // The batch was acknowledged: the checkpoint reached the last record.
    const lease = await database.db.selectFrom('shard_leases').select('checkpoint').where('stream_name', '=', 'mapping').executeTakeFirstOrThrow();
    expect(lease.checkpoint).toBe(sequenceNumbers.at(-1));
  });

  it('stalls without moving any checkpoint while OpenSearch is unreachable, then catches up with nothing lost', async () => {
    const proxy = await OutageProxy.start(openSearchUrl);
    const outagePrefix = `${prefix}-o`;
    try {
      const traffic = [...generateTraffic(org, { deliveries: 2_000, seed: 77, duplicateRate: 0.02, outOfOrderRate: 0.02, malformedRate: 0 })];
      await kinesis.createStream('outage', 2);
      await kinesis.put('outage', traffic);
      proxy.downAfterBulks(3);
      let database: TestDatabase | undefined;
      const checkpoints = async () =>
        JSON.stringify(await database!.db.selectFrom('shard_leases').select(['shard_id', 'checkpoint']).where('stream_name', '=', 'outage').orderBy('shard_id').execute());
      const run = consume('outage', { url: proxy.url, indexPrefix: outagePrefix, batchLimit: 150, onStart: (db) => (database = db) });

      await waitUntil(() => proxy.refused >= 3, 30_000, 'the sink to hit the outage');
      const during = await checkpoints();
      await waitUntil(() => proxy.refused >= 8, 60_000, 'more retries during the outage');
      expect(await checkpoints()).toBe(during);
      expect(proxy.isDown).toBe(true);
      proxy.up();
      await run;

      const truth = await postgresTruth(database!);
      expect(await checkpoints()).not.toBe(during);
      expect(truth.sinkDeadLetters).toEqual([]);
      const os = await openSearchTruth(outagePrefix);
      expect(new Set(os.events.keys())).toEqual(truth.eventIds);
      expect(os.findings).toEqual(truth.findings);
    } finally {
      await proxy.close();
      await dropIndices(assert, outagePrefix);
    }
  });
});

function januaryEvent(template: ComplianceChangeEvent, resourceId: string): ComplianceChangeEvent {
  const result = template.detail.newEvaluationResult!;
  const at = '2026-01-15T08:00:00.000Z';
  return {
    ...template,
    id: '0badc0de-0000-4000-8000-000000000001',
    time: '2026-01-15T08:00:30Z',
    detail: {
      ...template.detail,
      resourceId,
      notificationCreationTime: at,
      newEvaluationResult: {
        ...result,
        complianceType: 'NON_COMPLIANT',
        evaluationResultIdentifier: {
          ...result.evaluationResultIdentifier,
          orderingTimestamp: at,
          evaluationResultQualifier: { ...result.evaluationResultIdentifier.evaluationResultQualifier, resourceId },
        },
      },
    },
  };
}
