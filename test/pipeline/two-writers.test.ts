import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@opensearch-project/opensearch';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../../pipeline/config/load-settings.ts';
import { KinesisConsumer } from '../../pipeline/kinesis/kinesis-consumer.ts';
import { ShardLeaseManager } from '../../pipeline/kinesis/shard-lease-manager.ts';
import { PipelineMetrics } from '../../pipeline/metrics/pipeline-metrics.ts';
import type { ProcessorHooks } from '../../pipeline/processor/processor-hooks.ts';
import { createRuntime } from '../../pipeline/runtime/create-runtime.ts';
import type { Runtime } from '../../pipeline/runtime/create-runtime.ts';
import { createOpenSearchClient } from '../../pipeline/sinks/opensearch/client.ts';
import { openSearchConfigFromSettings } from '../../pipeline/sinks/opensearch/config.ts';
import { createOpenSearchSink } from '../../pipeline/sinks/opensearch/create-opensearch-sink.ts';
import { installOpenSearchIndices } from '../../pipeline/sinks/opensearch/install-opensearch-indices.ts';
import { deadLetterKeyOf } from '../../pipeline/sinks/postgres/dead-letter-key.ts';
import type { Database } from '../../pipeline/store/database-schema.ts';
import type { ComplianceChangeEvent, ComplianceType } from '../../schemas/compliance-change-event.ts';
import { findingIdOf } from '../../stages/track/track-stage.ts';
import { evaluationKeyOf } from '../../stages/enrich/enriched-event.ts';
import { runCli } from '../support/cli.ts';
import type { CliResult } from '../support/cli.ts';
import { complianceEvent } from '../support/events.ts';
import { startLocalKinesis } from '../support/kinesis.ts';
import type { LocalKinesis } from '../support/kinesis.ts';
import { ensureOpenSearch } from '../support/opensearch.ts';
import { expectedFindings } from '../support/oracle.ts';
import { createTestDatabase } from '../support/postgres.ts';
import type { TestDatabase } from '../support/postgres.ts';
import { allDocs, assertionClient, dropIndices, testIndexPrefix } from '../opensearch/support/opensearch-test-index.ts';
import type { Kysely } from 'kysely';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const T = (minutes: number) => Date.parse('2026-03-04T10:00:00Z') + minutes * 60_000;
const signal = new AbortController().signal;

/** A writer held at a point of its batch until the test lets it go: interleavings are forced, not left to timing. */
class Gate {
  readonly reached: Promise<void>;
  #reach!: () => void;
  #release!: () => void;
  readonly #released: Promise<void>;

  constructor() {
    this.reached = new Promise((resolve) => (this.#reach = resolve));
    this.#released = new Promise((resolve) => (this.#release = resolve));
  }

  wait(): Promise<void> {
    this.#reach();
    return this.#released;
  }

  open(): void {
    this.#release();
  }
}

/** Hooks of the second writer: a batch holding a gated event waits, after tracking it from its cache, before its commit. */
function gatedHooks(gates: Map<string, Gate>): ProcessorHooks {
  return {
    beforeCommit: async (batch) => {
      for (const id of batch.eventIds) await gates.get(id)?.wait();
    },
  };
}

function event(id: string, resource: string, compliance: ComplianceType, minutes: number): ComplianceChangeEvent {
  return complianceEvent({ id, resourceId: resource, compliance, at: T(minutes) });
}

const keyOf = (resource: string) => evaluationKeyOf('111122223333', 'us-east-1', 's3-bucket-public-write-prohibited', 'AWS::S3::Bucket', resource);

interface Snapshot {
  readonly findings: string[];
  readonly outbox: string[];
  readonly findingDocs: string[];
  readonly eventDocs: string[];
}

async function snapshot(db: Kysely<Database>, client: Client, prefix: string): Promise<Snapshot> {
  const findings = await db
    .selectFrom('findings')
    .select(['finding_id', 'evaluation_key', 'status', 'opened_event_id', 'opened_at', 'resolved_event_id', 'resolved_at', 'resolution'])
    .execute();
  const outbox = await db.selectFrom('notification_outbox').select(['intent_id', 'kind']).execute();
  const findingDocs = await allDocs(client, `${prefix}-findings`, 'findingId');
  const eventDocs = await allDocs(client, `${prefix}-events-*`, 'eventId');
  return {
    findings: findings
      .map((f) => [f.finding_id, f.evaluation_key, f.status, f.opened_event_id, f.opened_at.toISOString(), f.resolved_event_id, f.resolved_at?.toISOString() ?? null, f.resolution].join(' '))
      .sort(),
    outbox: outbox.map((o) => `${o.intent_id} ${o.kind}`).sort(),
    findingDocs: [...findingDocs]
      .map(([id, d]) => [id, d.source.status, d.source.openedEventId, d.source.resolvedEventId, d.source.resolvedAt, d.source.lastEventId].join(' '))
      .sort(),
    eventDocs: [...eventDocs].map(([id, d]) => `${id} ${String(d.source.transition)} ${String(d.source.findingId)}`).sort(),
  };
}

describe('two writers on the same evaluation keys: replay and redrive beside run (issue 17)', () => {
  let kinesis: LocalKinesis;
  let openSearchUrl: string;
  let assert: Client;
  let dir: string;
  const prefix = testIndexPrefix();
  const baselinePrefix = `${prefix}-single`;
  const databases: TestDatabase[] = [];

  beforeAll(async () => {
    kinesis = await startLocalKinesis();
    openSearchUrl = await ensureOpenSearch();
    assert = assertionClient(openSearchUrl);
    dir = await mkdtemp(join(tmpdir(), 'dw-writers-'));
    for (const p of [prefix, baselinePrefix]) {
      const settings = loadSettings({ OPENSEARCH_URL: openSearchUrl, OPENSEARCH_INDEX_PREFIX: p });
      const client = createOpenSearchClient(openSearchConfigFromSettings(settings)!);
      await installOpenSearchIndices(client, settings);
      await client.close();
    }
  }, 240_000);

  afterAll(async () => {
    if (assert) {
      await dropIndices(assert, prefix);
      await assert.close();
    }
    for (const database of databases) await database.drop();
    await kinesis?.close();
  });

  async function runtimeOn(database: TestDatabase, indexPrefix: string, metrics?: PipelineMetrics): Promise<Runtime> {
    const settings = loadSettings({ DATABASE_URL: database.url, KINESIS_ENDPOINT: kinesis.endpoint, OPENSEARCH_URL: openSearchUrl, OPENSEARCH_INDEX_PREFIX: indexPrefix });
    const sink = (await createOpenSearchSink(settings, logger))!;
    return createRuntime(settings, logger, { sinks: [sink], ...(metrics ? { metrics } : {}) });
  }

  it('ends exactly as one writer would, in the order the writes reached Postgres, with no shard stalled', async () => {
    const database = await createTestDatabase();
    databases.push(database);
    const db = database.db;
    const env = { DATABASE_URL: database.url, OPENSEARCH_URL: openSearchUrl, OPENSEARCH_INDEX_PREFIX: prefix };
    const gates = new Map<string, Gate>();
    const hooks = gatedHooks(gates);

    // The live writer: `run`'s consumer on a one-shard stream.
    const metrics = new PipelineMetrics();
    const live = await runtimeOn(database, prefix, metrics);
    await kinesis.createStream('writers', 1);
    const consumer = new KinesisConsumer({
      client: kinesis.client,
      streamName: 'writers',
      leases: new ShardLeaseManager(db, { streamName: 'writers', owner: 'live', leaseMs: 60_000 }),
      createProcessor: (shardId) => live.createProcessor(shardId),
      batchLimit: 100,
      maxInFlight: 1,
      pollIntervalMs: 50,
      refreshIntervalMs: 300,
      logger,
    });
    const stopLive = new AbortController();
    const running = consumer.run(stopLive.signal);
    let lastSequence = '';
    /** Puts events on the stream and waits until the live writer has committed them AND checkpointed past them. */
    const liveWrites = async (...events: ComplianceChangeEvent[]) => {
      const sequences = await kinesis.put('writers', events.map((e) => ({ data: JSON.stringify(e), partitionKey: e.detail.resourceId })));
      lastSequence = sequences.at(-1)!;
      for (let i = 0; i < 600; i++) {
        const lease = await db.selectFrom('shard_leases').select('checkpoint').where('stream_name', '=', 'writers').executeTakeFirst();
        if (lease?.checkpoint === lastSequence) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('the live writer did not commit in time');
    };
    let files = 0;
    /** `driftwatch replay` of these events, in this process, with the gated hooks. */
    const replay = async (...events: ComplianceChangeEvent[]): Promise<CliResult> => {
      const file = join(dir, `replay-${++files}.ndjson`);
      await writeFile(file, events.map((e) => JSON.stringify(e)).join('\n'));
      return runCli(['replay', '--file', file, '--batch-size', '1', '--json'], env, { processorHooks: hooks });
    };
    const redrive = () => runCli(['redrive', '--json'], env, { processorHooks: hooks });
    const gate = (eventId: string) => {
      const g = new Gate();
      gates.set(eventId, g);
      return g;
    };
    /** A dead letter of the stream, as the live writer would have stored it. */
    const deadLetter = async (e: ComplianceChangeEvent, sequenceNumber: string, stage: string, reason: string) => {
      const raw = Buffer.from(JSON.stringify(e));
      const shardId = 'shardId-000000000000';
      await db
        .insertInto('dead_letters')
        .values({ letter_key: deadLetterKeyOf('kinesis', shardId, sequenceNumber, stage, raw), source: 'kinesis', shard_id: shardId, sequence_number: sequenceNumber, stage, reason, raw, redriven_at: null })
        .execute();
    };
    // The order in which events reached Postgres: what a single writer is fed for the comparison.
    const serialized: ComplianceChangeEvent[] = [];

    try {
      // Case 1, "a real non-compliance is never reported". The replay's cache holds {t=100 NON_COMPLIANT, F1 open};
      // the live writer resolves F1 at t=200; the replay's NON_COMPLIANT at t=250 must open a NEW finding.
      const a1 = event('a1', 'case-1', 'NON_COMPLIANT', 100);
      const a2 = event('a2', 'case-1', 'COMPLIANT', 200);
      const a3 = event('a3', 'case-1', 'NON_COMPLIANT', 250);
      const a4 = event('a4', 'case-1', 'COMPLIANT', 300);
      await liveWrites(a1);
      const g1 = gate('a3');
      const replay1 = replay(a3);
      await g1.reached; // tracked from its cache: 'unchanged', reusing F1
      await liveWrites(a2);
      g1.open();
      const r1 = await replay1;
      expect(r1.code, r1.stderr).toBe(0);
      expect(JSON.parse(r1.stdout)).toMatchObject({ accepted: 1, opened: 1, stale: 0 });
      // Now the LIVE writer's cache is the stale one ({t=200, nothing open}): its COMPLIANT must resolve the new finding.
      await liveWrites(a4);
      serialized.push(a1, a2, a3, a4);

      // Case 2, "an orphan open finding, then a shard that stops forever". The replay's cache holds {t=100 COMPLIANT};
      // the live writer opens F2 at t=300 and resolves it at t=400; the replay's NON_COMPLIANT t=150 is stale.
      const b1 = event('b1', 'case-2', 'COMPLIANT', 100);
      const b2 = event('b2', 'case-2', 'NON_COMPLIANT', 300);
      const b3 = event('b3', 'case-2', 'COMPLIANT', 400);
      const b4 = event('b4', 'case-2', 'NON_COMPLIANT', 150);
      const b5 = event('b5', 'case-2', 'NON_COMPLIANT', 500);
      await liveWrites(b1);
      const g2 = gate('b4');
      const replay2 = replay(b4);
      await g2.reached; // tracked as 'opened' from its cache
      await liveWrites(b2, b3);
      g2.open();
      const r2 = await replay2;
      expect(r2.code, r2.stderr).toBe(0);
      expect(JSON.parse(r2.stdout)).toMatchObject({ accepted: 1, opened: 0, stale: 1 });
      // The next NON_COMPLIANT opens a finding: no second open row, no failed batch, no stall.
      await liveWrites(b5);
      serialized.push(b1, b2, b3, b4, b5);

      // Case 3, "a resolved finding reopened". Replay and live both pass dedupe for c1; live opens and resolves F;
      // the replay commits last and must change nothing.
      const c1 = event('c1', 'case-3', 'NON_COMPLIANT', 100);
      const c2 = event('c2', 'case-3', 'COMPLIANT', 200);
      const g3 = gate('c1');
      const replay3 = replay(c1);
      await g3.reached; // tracked as 'opened'
      await liveWrites(c1, c2);
      g3.open();
      const r3 = await replay3;
      expect(r3.code, r3.stderr).toBe(0);
      expect(JSON.parse(r3.stdout)).toMatchObject({ accepted: 0, duplicates: 1, opened: 0 });
      serialized.push(c1, c2);

      // Case 4: redrive beside run. A dead letter (its cause since fixed) holds NON_COMPLIANT t=250; redrive tracks it
      // while its key has F open; the live writer resolves F at t=200 first; the letter must open a new finding.
      const d1 = event('d1', 'case-4', 'NON_COMPLIANT', 100);
      const d2 = event('d2', 'case-4', 'COMPLIANT', 200);
      const d3 = event('d3', 'case-4', 'NON_COMPLIANT', 250);
      const d4 = event('d4', 'case-4', 'COMPLIANT', 300);
      await liveWrites(d1);
      await deadLetter(d3, '42', 'enrich', 'rule catalog failed to load');
      const g4 = gate('d3');
      const redrive4 = redrive();
      await g4.reached;
      await liveWrites(d2);
      g4.open();
      const r4 = await redrive4;
      expect(r4.code, r4.stderr).toBe(0);
      expect(JSON.parse(r4.stdout)).toMatchObject({ considered: 1, redriven: 1, failedAgain: 0 });
      await liveWrites(d4);
      serialized.push(d1, d2, d3, d4);

      // Related hole 5: a replay of an event whose id was pruned from processed events is stale now, and a redrive of
      // a sink dead letter re-sends a committed event: neither may overwrite the event document of its first effect.
      await db.deleteFrom('processed_events').where('event_id', '=', 'a1').execute();
      const r5 = await replay(a1);
      expect(JSON.parse(r5.stdout)).toMatchObject({ accepted: 1, stale: 1 });
      await deadLetter(c2, '43', 'sink:opensearch', 'opensearch was refusing writes');
      const r6 = await redrive();
      expect(JSON.parse(r6.stdout)).toMatchObject({ considered: 1, redriven: 1 });
    } finally {
      for (const g of gates.values()) g.open();
      stopLive.abort();
      await running;
      await live.close();
    }

    // No shard stalled: the live writer checkpointed its last record and never failed a batch.
    const lease = await db.selectFrom('shard_leases').select('checkpoint').where('stream_name', '=', 'writers').executeTakeFirstOrThrow();
    expect(lease.checkpoint).toBe(lastSequence);
    const failures = await metrics.registry.getSingleMetric('driftwatch_batch_failures_total')!.get();
    expect(failures.values.reduce((sum, v) => sum + v.value, 0)).toBe(0);

    const concurrent = await snapshot(db, assert, prefix);

    // The findings the issue names, spelled out.
    const id = (resource: string, eventId: string) => findingIdOf(keyOf(resource), eventId);
    const status = new Map(concurrent.findings.map((row) => [row.split(' ')[0]!, row.split(' ')[2]!]));
    expect(status.get(id('case-1', 'a1'))).toBe('resolved');
    expect(status.get(id('case-1', 'a3'))).toBe('resolved'); // opened by the replay, resolved by the live writer
    expect(status.has(id('case-2', 'b4'))).toBe(false); // the stale replay opened nothing
    expect(status.get(id('case-2', 'b2'))).toBe('resolved');
    expect(status.get(id('case-2', 'b5'))).toBe('open');
    expect(status.get(id('case-3', 'c1'))).toBe('resolved');
    expect(status.get(id('case-4', 'd3'))).toBe('resolved'); // opened by the redrive, resolved by the live writer
    const docs = await allDocs(assert, `${prefix}-events-*`, 'eventId');
    expect(docs.get('a1')).toMatchObject({ version: 1, source: { transition: 'opened', findingId: id('case-1', 'a1') } });
    expect(docs.get('c2')).toMatchObject({ version: 1, source: { transition: 'resolved', findingId: id('case-3', 'c1') } });

    // The independent oracle, fed the events in the order they reached Postgres.
    expect(concurrent.findings.map((row) => row.split(' ')).map(([, key, st, opened]) => `${key}#${opened}#${st}`).sort()).toEqual(
      expectedFindings(serialized, () => true).map((f) => `${f.key}#${f.openedEventId}#${f.status}`).sort(),
    );

    // One writer, the same events in that order: findings, outbox and OpenSearch must be the same. (Ordering-time order
    // is the same order for cases 1, 3 and 4; in case 2 the replay's t=150 reached Postgres after t=400 was stored, and
    // for any single writer receiving it then it is stale too: "older than stored never moves state back".)
    const single = await createTestDatabase();
    databases.push(single);
    const one = await runtimeOn(single, baselinePrefix);
    try {
      const processor = one.createProcessor('single');
      let n = 0;
      for (const e of serialized) {
        const item = { origin: { shardId: 'single', sequenceNumber: String(++n) }, value: { data: Buffer.from(JSON.stringify(e)) } };
        await processor.process('single', [item], null, 'replay', signal);
      }
    } finally {
      await one.close();
    }
    const baseline = await snapshot(single.db, assert, baselinePrefix);
    expect(concurrent.findings).toEqual(baseline.findings);
    expect(concurrent.outbox).toEqual(baseline.outbox);
    expect(concurrent.findingDocs).toEqual(baseline.findingDocs);
    expect(concurrent.eventDocs).toEqual(baseline.eventDocs);
  }, 180_000);
});
