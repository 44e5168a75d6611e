import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Settings } from '../../schemas/settings.ts';
import { createFirehoseClient } from '../../pipeline/sinks/firehose/client.ts';
import { FirehoseLimits, firehoseConfigFromSettings } from '../../pipeline/sinks/firehose/config.ts';
import type { FirehoseConfig } from '../../pipeline/sinks/firehose/config.ts';
import { FirehoseSink } from '../../pipeline/sinks/firehose/firehose-sink.ts';
import { deliver } from '../../pipeline/sinks/deliver.ts';
import { createRuntime } from '../../pipeline/runtime/create-runtime.ts';
import type { Item } from '../../stages/stage.ts';
import type { TrackedEvent } from '../../stages/track/tracked-event.ts';
import { enrichedEvent } from '../stages/stage-fixtures.ts';
import { LocalFirehose } from '../aws-server/firehose/firehose-service.ts';
import { createTestDatabase } from '../support/postgres.ts';
import type { TestDatabase } from '../support/postgres.ts';
import { complianceEvent } from '../support/events.ts';

const logger = pino({ level: 'silent' });
const Fast = { initialBackoffMs: 5, maxBackoffMs: 40 };
const signal = new AbortController().signal;

function tracked(count: number, prefix: string): Item<TrackedEvent>[] {
  return Array.from({ length: count }, (_, i) => ({
    origin: { shardId: 'shardId-000000000000', sequenceNumber: String(i + 1) },
    value: { event: enrichedEvent({ eventId: `${prefix}-${i}`, resourceId: `bucket-${prefix}-${i}` }), transition: 'recorded', state: null, finding: null },
  }));
}

/** Event ids archived in a stream, one per record, each record one JSON line. */
function archivedIds(firehose: LocalFirehose, stream: string): string[] {
  return firehose.records(stream).map((record) => {
    expect(record.at(-1)).toBe(0x0a);
    expect(record.indexOf(0x0a)).toBe(record.length - 1);
    return (JSON.parse(record.toString('utf8')) as { eventId: string }).eventId;
  });
}

describe('Firehose archive sink through the real SDK client against a local Firehose', () => {
  let firehose: LocalFirehose;
  let config: FirehoseConfig;
  let sink: FirehoseSink;

  beforeAll(async () => {
    firehose = await LocalFirehose.start({ streams: ['archive', 'other'] });
    config = firehoseConfigFromSettings(Settings.parse({ FIREHOSE_DELIVERY_STREAM: 'archive', FIREHOSE_ENDPOINT: firehose.endpoint }))!;
    sink = new FirehoseSink({ client: createFirehoseClient(config), config, logger });
  });

  afterAll(async () => {
    await sink?.close();
    await firehose?.close();
  });

  it('archives each event as one JSON line carrying its event id and finding id, in calls of at most 500 records', async () => {
    const items = tracked(1_201, 'bulk');
    const before = firehose.server.callsOf('PutRecordBatch').length;
    const result = await deliver(sink, { shardId: 's', items }, signal, logger, Fast);
    expect(result.rejected).toEqual([]);
    expect(archivedIds(firehose, 'archive')).toEqual(items.map((i) => i.value.event.eventId));
    const calls = firehose.server.callsOf('PutRecordBatch').slice(before);
    expect(calls.map((c) => (c.input.Records as unknown[]).length)).toEqual([500, 500, 201]);
    const first = JSON.parse(firehose.records('archive')[0]!.toString('utf8')) as Record<string, unknown>;
    expect(first).toMatchObject({ eventId: 'bulk-0', resourceId: 'bucket-bulk-0', severity: 'Critical', transition: 'recorded', findingId: null });
  });

  it('resends only the records Firehose refused (FailedPutCount, per-record ErrorCode) until each is stored once', async () => {
    const stream = 'other';
    const own = new FirehoseSink({ client: createFirehoseClient(config), config: { ...config, deliveryStream: stream }, logger });
    const items = tracked(40, 'partial');
    firehose.failRecords({ matching: '"partial-7"', count: 3, code: 'ServiceUnavailableException' });
    firehose.failRecords({ matching: '"partial-30"', count: 1, code: 'InternalFailure' });
    const before = firehose.server.callsOf('PutRecordBatch').length;
    const result = await deliver(own, { shardId: 's', items }, signal, logger, Fast);
    await own.close();
    expect(result.rejected).toEqual([]);
    const sent = firehose.server.callsOf('PutRecordBatch').slice(before).map((c) => (c.input.Records as unknown[]).length);
    // 40, then the two refused, then partial-7 alone twice more.
    expect(sent).toEqual([40, 2, 1, 1]);
    const ids = archivedIds(firehose, stream);
    expect(ids.sort()).toEqual(items.map((i) => i.value.event.eventId).sort());
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('backs off through a throttling burst longer than the SDK retries, and stores everything once', async () => {
    const before = firehose.records('archive').length;
    const items = tracked(10, 'throttled');
    firehose.throttle(5);
    const result = await deliver(sink, { shardId: 's', items }, signal, logger, Fast);
    expect(result.attempts).toBeGreaterThan(1);
    const calls = firehose.server.callsOf('PutRecordBatch').slice(-6);
    expect(calls.map((c) => c.error ?? 'ok')).toEqual([...Array(5).fill('ServiceUnavailableException'), 'ok']);
    expect(archivedIds(firehose, 'archive').slice(before)).toEqual(items.map((i) => i.value.event.eventId));
  });

  it('dead-letters a record too large for Firehose and delivers the rest', async () => {
    const small = { ...config, bytesPerRecord: 1_500 };
    const own = new FirehoseSink({ client: createFirehoseClient(config), config: small, logger });
    const items = tracked(3, 'size');
    const big = { ...items[1]!, value: { ...items[1]!.value, event: { ...items[1]!.value.event, annotation: 'x'.repeat(2_000) } } };
    const before = firehose.records('archive').length;
    const result = await deliver(own, { shardId: 's', items: [items[0]!, big, items[2]!] }, signal, logger, Fast);
    await own.close();
    expect(result.rejected.map((r) => [r.item.value.event.eventId, r.reason])).toEqual([['size-1', expect.stringMatching(/^firehose record is \d+ bytes, over the 1500-byte limit/)]]);
    expect(archivedIds(firehose, 'archive').slice(before)).toEqual(['size-0', 'size-2']);
  });

  it('waits for a missing stream (retriable), and a request over the quotas is not retriable', async () => {
    const missing = new FirehoseSink({ client: createFirehoseClient(config), config: { ...config, deliveryStream: 'not-yet' }, logger });
    const outcome = await missing.write({ shardId: 's', items: tracked(1, 'missing') }, signal);
    expect(outcome).toMatchObject({ status: 'errored', retriable: true });
    expect(outcome.status === 'errored' && outcome.error.message).toMatch(/ResourceNotFoundException/);
    await missing.close();
    // A config beyond the quota (the schema forbids it) gets the service's ValidationException: fail, do not loop.
    const over = new FirehoseSink({ client: createFirehoseClient(config), config: { ...config, recordsPerCall: 600 }, logger });
    const refused = await over.write({ shardId: 's', items: tracked(600, 'over') }, signal);
    expect(refused).toMatchObject({ status: 'errored', retriable: false });
    await over.close();
    expect(FirehoseLimits.recordsPerCall).toBe(500);
  });

  it('healthcheck: ACTIVE passes; a stream being created or missing fails with one line naming it', async () => {
    await expect(sink.healthcheck(signal)).resolves.toBeUndefined();
    firehose.setStatus('archive', 'CREATING');
    await expect(sink.healthcheck(signal)).rejects.toThrow('firehose healthcheck: stream archive is CREATING, not ACTIVE');
    firehose.setStatus('archive', 'ACTIVE');
    const missing = new FirehoseSink({ client: createFirehoseClient(config), config: { ...config, deliveryStream: 'nope' }, logger });
    await expect(missing.healthcheck(signal)).rejects.toThrow(/^firehose healthcheck: cannot describe stream nope: ResourceNotFoundException/);
    await missing.close();
  });
});

describe('runtime wiring: FIREHOSE_DELIVERY_STREAM adds the archive sink to the stage chain', () => {
  let firehose: LocalFirehose;
  let database: TestDatabase;

  beforeAll(async () => {
    firehose = await LocalFirehose.start({ streams: ['compliance-archive'] });
    database = await createTestDatabase();
  });

  afterAll(async () => {
    await database?.drop();
    await firehose?.close();
  });

  it('every accepted event is archived (refused records resent) before the state commit; duplicates and dead letters are not', async () => {
    const settings = Settings.parse({ DATABASE_URL: database.url, FIREHOSE_DELIVERY_STREAM: 'compliance-archive', FIREHOSE_ENDPOINT: firehose.endpoint });
    const runtime = await createRuntime(settings, logger);
    try {
      expect(runtime.sinks.map((s) => s.name)).toEqual(['firehose']);
      const at = Date.parse('2026-03-04T10:00:00Z');
      const events = [
        complianceEvent({ id: 'wire-1', resourceId: 'b-1', compliance: 'NON_COMPLIANT', at }),
        complianceEvent({ id: 'wire-2', resourceId: 'b-2', compliance: 'COMPLIANT', at }),
        complianceEvent({ id: 'wire-1', resourceId: 'b-1', compliance: 'NON_COMPLIANT', at }),
      ];
      const records = [...events.map((e) => Buffer.from(JSON.stringify(e))), Buffer.from('not json')].map((data, i) => ({
        origin: { shardId: 'shardId-000000000001', sequenceNumber: String(i + 1) },
        value: { data },
      }));
      firehose.failRecords({ matching: '"wire-2"', count: 2 });
      const summary = await runtime.createProcessor('shardId-000000000001').process('shardId-000000000001', records, null, 'test', signal);
      expect(summary).toMatchObject({ accepted: 2, duplicates: 1, opened: 1, deadLetters: 1 });
      const archived = firehose.records('compliance-archive').map((r) => JSON.parse(r.toString('utf8')) as { eventId: string; findingId: string | null; transition: string });
      expect(archived.map((a) => a.eventId).sort()).toEqual(['wire-1', 'wire-2']);
      const finding = await database.db.selectFrom('findings').select('finding_id').executeTakeFirstOrThrow();
      expect(archived.find((a) => a.eventId === 'wire-1')).toMatchObject({ transition: 'opened', findingId: finding.finding_id });
    } finally {
      await runtime.close();
    }
  });
});
