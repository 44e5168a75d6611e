import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@opensearch-project/opensearch';
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../../pipeline/config/load-settings.ts';
import { KinesisConsumer } from '../../pipeline/kinesis/kinesis-consumer.ts';
import { ShardLeaseManager } from '../../pipeline/kinesis/shard-lease-manager.ts';
import { PipelineMetrics } from '../../pipeline/metrics/pipeline-metrics.ts';
import { createRuntime } from '../../pipeline/runtime/create-runtime.ts';
import { createOpenSearchSink } from '../../pipeline/sinks/opensearch/create-opensearch-sink.ts';
import type { ComplianceChangeEvent, ComplianceType } from '../../schemas/compliance-change-event.ts';
import { evaluationKeyOf } from '../../stages/enrich/enriched-event.ts';
import { runCli } from '../support/cli.ts';
import { complianceEvent } from '../support/events.ts';
import { startLocalKinesis } from '../support/kinesis.ts';
import type { LocalKinesis } from '../support/kinesis.ts';
import { ensureOpenSearch } from '../support/opensearch.ts';
import { expectedFindings } from '../support/oracle.ts';
import { createTestDatabase } from '../support/postgres.ts';
import type { TestDatabase } from '../support/postgres.ts';
import { allDocs, assertionClient, dropIndices, testIndexPrefix } from '../opensearch/support/opensearch-test-index.ts';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const T0 = Date.parse('2026-03-04T10:00:00Z');
const HourMs = 3_600_000;

/** Valid JSON, a valid-looking event, and yet a value Postgres cannot hold or a bound AWS itself sets is broken. */
interface Hostile {
  readonly kind: string;
  readonly data: Buffer;
  /** What the dead letter's reason must say. */
  readonly reason: RegExp;
  /** The stage that refuses it: the schema (decode), or the store itself (the last line of defence). */
  readonly stage: 'decode' | 'store';
}

type Edit = (event: ComplianceChangeEvent & { detail: { newEvaluationResult: NonNullable<ComplianceChangeEvent['detail']['newEvaluationResult']> } }) => void;

let counter = 0;
function event(edit: Edit = () => undefined, spec: { resourceId?: string; compliance?: ComplianceType; at?: number; resourceType?: string } = {}): ComplianceChangeEvent {
  counter++;
  const e = complianceEvent({
    id: `hostile-${counter}`,
    resourceId: spec.resourceId ?? `bucket-${counter}`,
    compliance: spec.compliance ?? 'NON_COMPLIANT',
    at: spec.at ?? T0 + counter * 1_000,
    ...(spec.resourceType ? { resourceType: spec.resourceType } : {}),
    annotation: 'bucket policy allows public write',
  });
  edit(e as Parameters<Edit>[0]);
  return e;
}
const bytes = (e: ComplianceChangeEvent) => Buffer.from(JSON.stringify(e));
const qualifier = (e: Parameters<Edit>[0]) => e.detail.newEvaluationResult.evaluationResultIdentifier.evaluationResultQualifier;
const setResourceId = (value: string): Edit => (e) => {
  e.detail.resourceId = value;
  qualifier(e).resourceId = value;
};
const setRule = (value: string): Edit => (e) => {
  e.detail.configRuleName = value;
  qualifier(e).configRuleName = value;
};
const setType = (value: string): Edit => (e) => {
  e.detail.resourceType = value;
  qualifier(e).resourceType = value;
};

const Nul = /NUL character/;
const Surrogate = /unpaired UTF-16 surrogate/;
const TooBig = /Too big|at most|<=/;

/** Every case of issue 9 items 1 and 2 that is bad input. */
function hostileRecords(): Hostile[] {
  const decode = (kind: string, edit: Edit, reason: RegExp): Hostile => ({ kind, data: bytes(event(edit)), reason, stage: 'decode' });
  return [
    decode('NUL in the resource id', setResourceId('bucket\u0000x'), Nul),
    decode('NUL in the rule name', setRule('OrgConfigRule-s3-bucket-public-write-prohibited\u0000-a1b2'), Nul),
    decode('NUL in the resource type', setType('AWS::S3::Bucket\u0000'), Nul),
    decode('NUL in the annotation', (e) => (e.detail.newEvaluationResult.annotation = 'public\u0000write'), Nul),
    decode('NUL in the event id', (e) => (e.id = `id-\u0000-${counter}`), Nul),
    decode('NUL in the version', (e) => (e.version = '0\u0000'), Nul),
    decode('NUL in the region', (e) => (e.detail.awsRegion = 'us-east-1\u0000'), /region/),
    decode('NUL in the evaluation mode', (e) => (qualifier(e).evaluationMode = 'DETECTIVE\u0000'), Nul),
    decode('NUL in the result token', (e) => (e.detail.newEvaluationResult.resultToken = 'token\u0000'), Nul),
    decode('NUL in the rule ARN', (e) => (e.detail.configRuleARN = 'arn:aws:config:us-east-1:111122223333:config-rule/\u0000'), Nul),
    decode('NUL in a resource ARN', (e) => (e.resources = ['arn:aws:s3:::bucket\u0000']), Nul),
    decode('lone high surrogate in the annotation', (e) => (e.detail.newEvaluationResult.annotation = 'rocket \ud83d'), Surrogate),
    decode('lone low surrogate in the resource id', setResourceId('bucket-\udc00'), Surrogate),
    decode('lone surrogate in the rule name', setRule('rule-\ud800'), Surrogate),
    decode('resource id of 2,700 characters (over the btree row limit once in a key)', setResourceId('r'.repeat(2_700)), TooBig),
    decode('resource id of 10,000 characters', setResourceId('x'.repeat(10_000)), TooBig),
    decode('resource id of 769 two-byte characters', setResourceId('é'.repeat(769)), TooBig),
    decode('resource type of 300 characters', setType(`AWS::S3::${'B'.repeat(291)}`), TooBig),
    decode('rule name of 200 characters', setRule('r'.repeat(200)), TooBig),
    decode('event id of 200 characters', (e) => (e.id = 'i'.repeat(200)), TooBig),
    // Passes the schema; the store refuses it (a CHECK constraint this test adds): bisection must isolate it.
    { kind: 'a value the store refuses (CHECK constraint)', data: bytes(event(setResourceId('refused-by-store'))), reason: /state store refused this record.*23514/, stage: 'store' },
  ];
}

/** Valid events, including the two resources the old key joined into one, and values at the bounds. */
function validEvents(): ComplianceChangeEvent[] {
  const events: ComplianceChangeEvent[] = [];
  for (let i = 0; i < 12; i++) events.push(event());
  // type AWS::EC2::SecurityGroup id "sg-1|prod" and type "AWS::EC2::SecurityGroup|sg-1" id "prod": "…|sg-1|prod" both.
  const a = event(() => undefined, { resourceType: 'AWS::EC2::SecurityGroup', resourceId: 'sg-1|prod', at: T0 });
  const b = event(() => undefined, { resourceType: 'AWS::EC2::SecurityGroup|sg-1', resourceId: 'prod', at: T0 });
  const aFixed = event(() => undefined, { resourceType: 'AWS::EC2::SecurityGroup', resourceId: 'sg-1|prod', at: T0 + HourMs, compliance: 'COMPLIANT' });
  events.push(a, b, aFixed);
  events.push(event(setResourceId('é'.repeat(768)))); // the longest id AWS allows, 1,536 bytes
  events.push(event(setResourceId('🚀-launch-bucket'))); // a surrogate pair is a character, not an unpaired surrogate
  events.push(event((e) => (e.detail.newEvaluationResult.annotation = 'a'.repeat(5_000))));
  return events;
}

describe('hostile input: one batch of every store-refused value among valid events (issue 9)', () => {
  let kinesis: LocalKinesis;
  let openSearchUrl: string;
  let assert: Client;
  const prefix = testIndexPrefix();
  const databases: TestDatabase[] = [];

  beforeAll(async () => {
    kinesis = await startLocalKinesis();
    openSearchUrl = await ensureOpenSearch();
    assert = assertionClient(openSearchUrl);
  }, 240_000);

  afterAll(async () => {
    if (assert) {
      await dropIndices(assert, prefix);
      await assert.close();
    }
    for (const database of databases) await database.drop();
    await kinesis?.close();
  });

  async function refusingDatabase(): Promise<TestDatabase> {
    const database = await createTestDatabase();
    databases.push(database);
    await sql`alter table evaluations add constraint hostile_test_refuses check (resource_id <> 'refused-by-store')`.execute(database.db);
    return database;
  }

  const hostile = hostileRecords();
  const valid = validEvents();
  // A fixed interleaving: valid and hostile records alternate, so every bad one sits between good ones.
  const mixed: ({ valid: ComplianceChangeEvent } | { hostile: Hostile })[] = [];
  for (let i = 0; i < Math.max(hostile.length, valid.length); i++) {
    if (valid[i]) mixed.push({ valid: valid[i]! });
    if (hostile[i]) mixed.push({ hostile: hostile[i]! });
  }
  const dataOf = (m: (typeof mixed)[number]) => ('valid' in m ? bytes(m.valid) : m.hostile.data);

  it('commits every valid event, dead-letters every bad one with its exact bytes and reason, and checkpoints past all of them', async () => {
    const database = await refusingDatabase();
    const settings = loadSettings({ DATABASE_URL: database.url, KINESIS_ENDPOINT: kinesis.endpoint, OPENSEARCH_URL: openSearchUrl, OPENSEARCH_INDEX_PREFIX: prefix });
    const sink = (await createOpenSearchSink(settings, logger))!;
    const metrics = new PipelineMetrics();
    const runtime = await createRuntime(settings, logger, { sinks: [sink], metrics });
    try {
      await kinesis.createStream('hostile', 1);
      const sequences = await kinesis.put('hostile', mixed.map((m, i) => ({ data: dataOf(m), partitionKey: `p${i}` })));
      const consumer = new KinesisConsumer({
        client: kinesis.client,
        streamName: 'hostile',
        leases: new ShardLeaseManager(runtime.database.db, { streamName: 'hostile', owner: 'hostile-test', leaseMs: 60_000 }),
        createProcessor: (shardId) => runtime.createProcessor(shardId),
        // Everything in ONE batch: the bad records must not take the good ones down with them.
        batchLimit: 1_000,
        maxInFlight: 1,
        pollIntervalMs: 100,
        refreshIntervalMs: 300,
        logger,
        stopWhenCaughtUp: true,
      });
      await consumer.run(AbortSignal.timeout(90_000));
      const db = runtime.database.db;

      // Every valid event committed; nothing of a bad one.
      const processed = await db.selectFrom('processed_events').select('event_id').execute();
      expect(new Set(processed.map((r) => r.event_id))).toEqual(new Set(valid.map((e) => e.id)));

      // Every bad record a dead letter with its exact bytes and the reason; no other dead letter.
      const letters = await db.selectFrom('dead_letters').selectAll().execute();
      expect(letters).toHaveLength(hostile.length);
      const bySequence = new Map(letters.map((l) => [l.sequence_number, l]));
      mixed.forEach((m, i) => {
        if (!('hostile' in m)) return;
        const letter = bySequence.get(sequences[i]!);
        expect(letter, m.hostile.kind).toBeDefined();
        expect(Buffer.from(letter!.raw).equals(m.hostile.data), m.hostile.kind).toBe(true);
        expect(letter!.stage, m.hostile.kind).toBe(m.hostile.stage);
        expect(letter!.reason, m.hostile.kind).toMatch(m.hostile.reason);
        expect(letter!.status).toBe('pending');
      });

      // The checkpoint is past all of them, reached without a single rewind.
      const lease = await db.selectFrom('shard_leases').select('checkpoint').executeTakeFirstOrThrow();
      expect(lease.checkpoint).toBe(sequences.at(-1));
      const failures = await metrics.registry.getSingleMetric('driftwatch_batch_failures_total')!.get();
      expect(failures.values.reduce((sum, v) => sum + v.value, 0)).toBe(0);

      // Nothing else touched: findings and intents exactly those of the valid events, per resource.
      const expected = expectedFindings(valid, () => true).map((f) => `${f.key}#${f.openedEventId}#${f.status}`).sort();
      const findings = await db.selectFrom('findings').select(['evaluation_key', 'opened_event_id', 'status', 'resource_type', 'resource_id']).execute();
      expect(findings.map((f) => `${f.evaluation_key}#${f.opened_event_id}#${f.status}`).sort()).toEqual(expected);
      const outbox = await db.selectFrom('notification_outbox').select(['kind', 'finding_id']).execute();
      expect(outbox.filter((o) => o.kind === 'finding.opened')).toHaveLength(findings.length);
      expect(outbox.filter((o) => o.kind === 'finding.resolved')).toHaveLength(findings.filter((f) => f.status === 'resolved').length);

      // The two resources the '|'-joined key confused are two findings; fixing one resolves only its own.
      const securityGroups = findings.filter((f) => f.resource_type.startsWith('AWS::EC2::SecurityGroup'));
      expect(securityGroups.map((f) => `${f.resource_type} ${f.resource_id} ${f.status}`).sort()).toEqual([
        'AWS::EC2::SecurityGroup sg-1|prod resolved',
        'AWS::EC2::SecurityGroup|sg-1 prod open',
      ]);
      expect(new Set(securityGroups.map((f) => f.evaluation_key)).size).toBe(2);
      const evaluations = await db.selectFrom('evaluations').select(['evaluation_key', 'account_id', 'region', 'rule', 'resource_type', 'resource_id']).execute();
      for (const row of evaluations) expect(row.evaluation_key).toBe(evaluationKeyOf(row.account_id, row.region, row.rule, row.resource_type, row.resource_id));

      // OpenSearch holds the valid events and their findings, and nothing of the bad records.
      const eventDocs = await allDocs(assert, `${prefix}-events-*`, 'eventId');
      expect(new Set(eventDocs.keys())).toEqual(new Set(valid.map((e) => e.id)));
      const findingDocs = await allDocs(assert, `${prefix}-findings`, 'findingId');
      const findingIds = await db.selectFrom('findings').select('finding_id').execute();
      expect(new Set(findingDocs.keys())).toEqual(new Set(findingIds.map((f) => f.finding_id)));
    } finally {
      await runtime.close();
    }
  }, 120_000);

  it('replay commits every valid line and dead-letters each bad one by line number; replaying again stores nothing twice', async () => {
    const database = await refusingDatabase();
    const dir = await mkdtemp(join(tmpdir(), 'dw-hostile-'));
    const file = join(dir, 'hostile.ndjson');
    await writeFile(file, Buffer.concat(mixed.flatMap((m) => [dataOf(m), Buffer.from('\n')])));
    const env = { DATABASE_URL: database.url };

    const first = await runCli(['replay', '--file', file, '--json'], env);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ records: mixed.length, accepted: valid.length, deadLetters: hostile.length });
    const letters = await database.db.selectFrom('dead_letters').selectAll().orderBy('id').execute();
    expect(letters).toHaveLength(hostile.length);
    mixed.forEach((m, i) => {
      if (!('hostile' in m)) return;
      const letter = letters.find((l) => l.sequence_number === String(i + 1));
      expect(letter, m.hostile.kind).toBeDefined();
      expect(Buffer.from(letter!.raw).equals(m.hostile.data), m.hostile.kind).toBe(true);
      expect(letter!.reason, m.hostile.kind).toMatch(m.hostile.reason);
    });

    // The same file again: every event a duplicate, every bad line already stored (reported, not stored twice).
    const again = await runCli(['replay', '--file', file, '--json'], env);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ accepted: 0, duplicates: valid.length, deadLetters: hostile.length });
    expect(await database.db.selectFrom('dead_letters').select('id').execute()).toHaveLength(hostile.length);
  }, 120_000);
});
