import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@opensearch-project/opensearch';
import { Migrator } from 'kysely';
import type { Kysely } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../pipeline/clock/manual-clock.ts';
import { loadSettings } from '../../pipeline/config/load-settings.ts';
import { Escalator } from '../../pipeline/escalation/escalator.ts';
import { ExceptionStore } from '../../pipeline/exceptions/exception-store.ts';
import { createRuntime } from '../../pipeline/runtime/create-runtime.ts';
import type { Runtime } from '../../pipeline/runtime/create-runtime.ts';
import { createFindingFactsSync } from '../../pipeline/sinks/opensearch/finding-facts-sync.ts';
import type { FindingFactsColumns, FindingFactsSync } from '../../pipeline/sinks/opensearch/finding-facts-sync.ts';
import type { Database, FindingsTable } from '../../pipeline/store/database-schema.ts';
import { Migrations, migrateToLatest } from '../../pipeline/store/migrate.ts';
import { openDatabase } from '../../pipeline/store/open-database.ts';
import type { ComplianceType } from '../../schemas/compliance-change-event.ts';
import { runCli } from '../support/cli.ts';
import { complianceEvent } from '../support/events.ts';
import { ensureOpenSearch } from '../support/opensearch.ts';
import { createTestDatabase } from '../support/postgres.ts';
import type { TestDatabase } from '../support/postgres.ts';
import { insertFindings, makeFinding } from '../sla/sla-fixtures.ts';
import { assertionClient, countDocs, dropIndices, testIndexPrefix } from './support/opensearch-test-index.ts';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const H = 3_600_000;
const signal = new AbortController().signal;
const T0 = Date.parse('2026-03-02T10:00:00Z');
const CriticalRule = 'OrgConfigRule-s3-bucket-public-write-prohibited-a1b2c3d4';
const HighRule = 'OrgConfigRule-s3-bucket-public-read-prohibited-a1b2c3d4';

type FactsDb = Kysely<Database & { findings: FindingsTable & FindingFactsColumns }>;

function factsDb(db: Kysely<Database>): FactsDb {
  return db.withTables<{ findings: FindingsTable & FindingFactsColumns }>();
}

async function dirty(db: Kysely<Database>, findingId: string): Promise<boolean> {
  const row = await factsDb(db).selectFrom('findings').select('facts_dirty').where('finding_id', '=', findingId).executeTakeFirstOrThrow();
  return row.facts_dirty;
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('finding facts sync: escalations and exceptions onto OpenSearch finding documents', () => {
  const prefix = testIndexPrefix();
  let assert: Client;
  let database: TestDatabase;
  let runtime: Runtime;
  let sync: FindingFactsSync;
  let sequence = 0;
  const clock = new ManualClock(T0);

  beforeAll(async () => {
    const url = await ensureOpenSearch();
    assert = assertionClient(url);
    database = await createTestDatabase();
    const settings = loadSettings({ DATABASE_URL: database.url, OPENSEARCH_URL: url, OPENSEARCH_INDEX_PREFIX: prefix });
    runtime = await createRuntime(settings, logger);
    for (const hook of runtime.migrationHooks) await hook();
    sync = createFindingFactsSync(settings, database.db, logger, clock)!;
  }, 240_000);

  afterAll(async () => {
    await sync?.close();
    await runtime?.close();
    await database?.drop();
    if (assert) {
      await dropIndices(assert, prefix);
      await assert.close();
    }
  });

  let processor: ReturnType<Runtime['createProcessor']> | undefined;

  /** One batch through the real pipeline (stages, OpenSearch sink, Postgres state commit); one processor keeps its state. */
  async function process(events: { id: string; resourceId: string; compliance: ComplianceType; at: number; configRuleName?: string; annotation?: string }[]) {
    processor ??= runtime.createProcessor('s');
    const records = events.map((spec) => ({
      origin: { shardId: 's', sequenceNumber: String(++sequence) },
      value: { data: Buffer.from(JSON.stringify(complianceEvent(spec))) },
    }));
    await processor.process('s', records, null, 'replay', signal);
  }

  async function findingIdOf(resourceId: string): Promise<string> {
    const row = await database.db.selectFrom('findings').select('finding_id').where('resource_id', '=', resourceId).orderBy('opened_at', 'desc').executeTakeFirstOrThrow();
    return row.finding_id;
  }

  async function doc(findingId: string): Promise<Record<string, unknown>> {
    const response = await assert.transport.request({ method: 'GET', path: `/${prefix}-findings/_doc/${encodeURIComponent(findingId)}` });
    return (response.body as { _source: Record<string, unknown> })._source;
  }

  let critical: string;
  let high: string;

  it('opens findings through the pipeline; nothing to sync until facts exist', async () => {
    await process([
      { id: 'ev-1', resourceId: 'bucket-critical', compliance: 'NON_COMPLIANT', at: T0, configRuleName: CriticalRule },
      { id: 'ev-2', resourceId: 'bucket-high', compliance: 'NON_COMPLIANT', at: T0, configRuleName: HighRule },
    ]);
    critical = await findingIdOf('bucket-critical');
    high = await findingIdOf('bucket-high');
    expect((await doc(critical)).severity).toBe('Critical');
    expect((await doc(high)).severity).toBe('High');
    expect(await dirty(database.db, critical)).toBe(false);
    expect(await sync.syncOnce(signal)).toEqual({ synced: 0, failed: 0 });
  });

  it('writes the escalation, then each reminder, onto the finding document', async () => {
    const escalator = new Escalator({ db: database.db, sla: runtime.sla, securityChannel: '#security', logger });
    clock.set(T0 + 25 * H);
    expect(await escalator.escalateDue(clock.now(), signal)).toEqual({ escalated: 1, reminded: 0 });
    expect(await dirty(database.db, critical)).toBe(true);
    expect(await sync.syncOnce(signal)).toEqual({ synced: 1, failed: 0 });
    expect(await dirty(database.db, critical)).toBe(false);
    const escalated = await doc(critical);
    expect(escalated).toMatchObject({
      status: 'open',
      escalated: true,
      escalatedAt: new Date(T0 + 25 * H).toISOString(),
      lastReminderAt: null,
      reminderCount: 0,
      excepted: false,
      exceptionId: null,
      slaBreached: true,
      escalations: [{ kind: 'escalation', n: 0, at: new Date(T0 + 25 * H).toISOString(), channel: '#security' }],
    });
    // Untouched: the High finding is not due.
    expect((await doc(high)).escalated).toBeUndefined();

    clock.advance(24 * H);
    expect(await escalator.escalateDue(clock.now(), signal)).toEqual({ escalated: 0, reminded: 1 });
    expect(await sync.syncOnce(signal)).toEqual({ synced: 1, failed: 0 });
    const reminded = await doc(critical);
    expect(reminded).toMatchObject({ escalated: true, reminderCount: 1, lastReminderAt: new Date(T0 + 49 * H).toISOString() });
    expect((reminded.escalations as unknown[]).length).toBe(2);
    // The new fields are mapped (the template is dynamic: false), so analysts can query them.
    expect(await countDocs(assert, `${prefix}-findings`, { bool: { filter: [{ term: { 'escalations.kind': 'reminder' } }, { term: { slaBreached: true } }] } })).toBe(1);
  });

  it('re-applies the facts after a newer result rewrites the document of a finding that stays open', async () => {
    await process([{ id: 'ev-3', resourceId: 'bucket-critical', compliance: 'NON_COMPLIANT', at: T0 + 50 * H, configRuleName: CriticalRule, annotation: 'still public' }]);
    const rewritten = await doc(critical);
    expect(rewritten.lastEventId).toBe('ev-3');
    expect(rewritten.escalated).toBeUndefined();
    expect(await dirty(database.db, critical)).toBe(true);
    expect(await sync.syncOnce(signal)).toEqual({ synced: 1, failed: 0 });
    expect(await doc(critical)).toMatchObject({ lastEventId: 'ev-3', escalated: true, reminderCount: 1 });
  });

  it('re-applies the facts after the resolve write replaces the document', async () => {
    await process([{ id: 'ev-4', resourceId: 'bucket-critical', compliance: 'COMPLIANT', at: T0 + 51 * H, configRuleName: CriticalRule }]);
    const replaced = await doc(critical);
    expect(replaced.status).toBe('resolved');
    expect(replaced.escalated).toBeUndefined();
    expect(await dirty(database.db, critical)).toBe(true);
    expect(await sync.syncOnce(signal)).toEqual({ synced: 1, failed: 0 });
    expect(await doc(critical)).toMatchObject({
      status: 'resolved',
      resolvedAt: new Date(T0 + 51 * H).toISOString(),
      escalated: true,
      escalatedAt: new Date(T0 + 25 * H).toISOString(),
      reminderCount: 1,
      slaBreached: true,
    });
    expect(await dirty(database.db, critical)).toBe(false);
  });

  it('shows a risk exception as excepted, and not after it is revoked', async () => {
    const exceptions = new ExceptionStore(database.db, clock);
    const { exception, covered } = await exceptions.add({
      rule: 's3-bucket-public-read-prohibited',
      until: clock.now() + 30 * 24 * H,
      reason: 'static website, CloudFront migration planned',
      by: 'alice@example.com',
    });
    expect(covered).toBe(1);
    expect(await sync.syncOnce(signal)).toEqual({ synced: 1, failed: 0 });
    expect(await doc(high)).toMatchObject({ status: 'open', excepted: true, exceptionId: exception.id, escalated: false, reminderCount: 0 });

    await exceptions.revoke(exception.id, 'bob@example.com', 'migration done early');
    expect(await sync.syncOnce(signal)).toEqual({ synced: 1, failed: 0 });
    expect(await doc(high)).toMatchObject({ excepted: false, exceptionId: null });
  });

  it('clears nothing while OpenSearch is unreachable, and catches up afterwards', async () => {
    const port = await closedPort();
    const unreachable = createFindingFactsSync(
      loadSettings({ DATABASE_URL: database.url, OPENSEARCH_URL: `http://127.0.0.1:${port}`, OPENSEARCH_INDEX_PREFIX: prefix, OPENSEARCH_REQUEST_TIMEOUT_MS: '2000' }),
      database.db,
      logger,
      clock,
    )!;
    try {
      const exceptions = new ExceptionStore(database.db, clock);
      const { exception } = await exceptions.add({ rule: 's3-bucket-public-read-prohibited', until: clock.now() + 7 * 24 * H, reason: 'accepted again', by: 'alice@example.com' });
      expect(await unreachable.syncOnce(signal)).toEqual({ synced: 0, failed: 1 });
      expect(await dirty(database.db, high)).toBe(true);
      expect((await doc(high)).excepted).toBe(false);
      expect(await sync.syncOnce(signal)).toEqual({ synced: 1, failed: 0 });
      expect(await doc(high)).toMatchObject({ excepted: true, exceptionId: exception.id });
      expect(await dirty(database.db, high)).toBe(false);
    } finally {
      await unreachable.close();
    }
  });

  it('keeps a finding whose document is not indexed marked, behind fresher changes', async () => {
    await assert.transport.request({ method: 'DELETE', path: `/${prefix}-findings/_doc/${encodeURIComponent(high)}`, querystring: { refresh: 'true' } });
    await factsDb(database.db).updateTable('findings').set({ facts_dirty: true }).where('finding_id', '=', high).execute();
    expect(await sync.syncOnce(signal)).toEqual({ synced: 0, failed: 1 });
    const row = await factsDb(database.db).selectFrom('findings').select(['facts_dirty', 'facts_tried_at']).where('finding_id', '=', high).executeTakeFirstOrThrow();
    expect(row.facts_dirty).toBe(true);
    expect(row.facts_tried_at?.getTime()).toBe(clock.now());
    // A fresh change is claimed before the retry.
    await factsDb(database.db).updateTable('findings').set({ facts_dirty: true }).where('finding_id', '=', critical).execute();
    const order = await factsDb(database.db)
      .selectFrom('findings')
      .select('finding_id')
      .where('facts_dirty', '=', true)
      .orderBy('facts_tried_at', (ob) => ob.asc().nullsFirst())
      .orderBy('finding_id')
      .execute();
    expect(order.map((r) => r.finding_id)).toEqual([critical, high]);
    expect(await sync.syncOnce(signal)).toEqual({ synced: 1, failed: 1 });
  });

  it('runs as a background service until stopped', async () => {
    const service = createFindingFactsSync(loadSettings({ OPENSEARCH_URL: await ensureOpenSearch(), OPENSEARCH_INDEX_PREFIX: prefix }), database.db, logger, clock)!;
    await factsDb(database.db).updateTable('findings').set({ facts_dirty: true, facts_tried_at: null }).where('finding_id', '=', critical).execute();
    const stop = new AbortController();
    const running = service.run(stop.signal);
    // The first pass starts at once; poll for its result rather than wait a fixed time.
    for (let i = 0; i < 200 && (await dirty(database.db, critical)); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await dirty(database.db, critical)).toBe(false);
    stop.abort();
    await expect(running).resolves.toBeUndefined();
  });
});

describe('driftwatch escalate with OpenSearch configured', () => {
  const prefix = testIndexPrefix();
  let assert: Client;
  let database: TestDatabase;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    const url = await ensureOpenSearch();
    assert = assertionClient(url);
    database = await createTestDatabase();
    env = { DATABASE_URL: database.url, OPENSEARCH_URL: url, OPENSEARCH_INDEX_PREFIX: prefix, LOG_LEVEL: 'silent' };
  }, 240_000);

  afterAll(async () => {
    await database?.drop();
    if (assert) {
      await dropIndices(assert, prefix);
      await assert.close();
    }
  });

  it('writes the escalation onto the finding document in the same command', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dw-facts-cli-'));
    const file = join(dir, 'events.ndjson');
    // Long past its 24 h deadline on the system clock the command uses.
    const event = complianceEvent({ id: 'cli-1', resourceId: 'bucket-cli', compliance: 'NON_COMPLIANT', at: Date.parse('2025-06-02T10:00:00Z'), configRuleName: CriticalRule });
    await writeFile(file, `${JSON.stringify(event)}\n`);
    expect((await runCli(['replay', '--file', file, '--json'], env)).code).toBe(0);
    const result = await runCli(['escalate', '--json'], env);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ escalated: 1, reminded: 0, opensearch: { synced: 1, failed: 0 } });
    const { finding_id: findingId } = await database.db.selectFrom('findings').select('finding_id').executeTakeFirstOrThrow();
    const response = await assert.transport.request({ method: 'GET', path: `/${prefix}-findings/_doc/${encodeURIComponent(findingId)}` });
    expect((response.body as { _source: Record<string, unknown> })._source).toMatchObject({ status: 'open', escalated: true, reminderCount: 0, slaBreached: true });
  });
});

describe('migration 0004 triggers mark findings whose facts must be synced', () => {
  async function checkTriggers(db: Kysely<Database>): Promise<void> {
    const facts = factsDb(db);
    const at = new Date('2026-03-05T10:00:00Z');
    await db
      .withTables<{ risk_exceptions: { id: string; rule: string; account_id: string | null; resource_id: string | null; until: Date; reason: string; created_by: string; created_at: Date } }>()
      .insertInto('risk_exceptions')
      .values({ id: 'exc-1', rule: 'excepted-rule', account_id: null, resource_id: null, until: new Date('2027-01-01T00:00:00Z'), reason: 'accepted', created_by: 'alice', created_at: at })
      .execute();
    await insertFindings(db, [
      makeFinding({ findingId: 'plain', openedAt: '2026-03-01T10:00:00Z', deadline: '2026-03-02T10:00:00Z' }),
      makeFinding({ findingId: 'excepted', rule: 'excepted-rule', openedAt: '2026-03-01T10:00:00Z', deadline: '2026-03-02T10:00:00Z' }),
    ]);
    const state = async () =>
      Object.fromEntries((await facts.selectFrom('findings').select(['finding_id', 'facts_dirty', 'exception_id']).orderBy('finding_id').execute()).map((r) => [r.finding_id, r.facts_dirty]));
    // The insert trigger runs after findings_apply_risk_exception set exception_id.
    expect(await state()).toEqual({ excepted: true, plain: false });
    await facts.updateTable('findings').set({ facts_dirty: false }).execute();

    // Status changes without facts: nothing to re-apply.
    await db.updateTable('findings').set({ status: 'resolved', resolved_at: at, resolution: 'COMPLIANT' }).where('finding_id', '=', 'plain').execute();
    expect(await state()).toEqual({ excepted: false, plain: false });
    await db.updateTable('findings').set({ status: 'open', resolved_at: null, resolution: null }).where('finding_id', '=', 'plain').execute();

    await db.updateTable('findings').set({ escalated_at: at }).where('finding_id', '=', 'plain').execute();
    expect(await state()).toEqual({ excepted: false, plain: true });
    await facts.updateTable('findings').set({ facts_dirty: false }).execute();
    expect(await state()).toEqual({ excepted: false, plain: false });

    // Unrelated updates leave the mark alone.
    await db.updateTable('findings').set({ updated_at: at, annotation: 'x' }).execute();
    expect(await state()).toEqual({ excepted: false, plain: false });

    // Reminders, and status changes of findings with facts (the resolve write replaces the document).
    await db.updateTable('findings').set((eb) => ({ last_reminder_at: at, reminder_count: eb('reminder_count', '+', 1) })).where('finding_id', '=', 'plain').execute();
    expect(await state()).toEqual({ excepted: false, plain: true });
    await facts.updateTable('findings').set({ facts_dirty: false }).execute();
    await db.updateTable('findings').set({ status: 'resolved', resolved_at: at, resolution: 'COMPLIANT' }).execute();
    expect(await state()).toEqual({ excepted: true, plain: true });
    await facts.updateTable('findings').set({ facts_dirty: false }).execute();
    await db.updateTable('findings').set({ exception_id: null }).where('finding_id', '=', 'excepted').execute();
    expect(await state()).toEqual({ excepted: true, plain: false });

    // A newer result on an open finding with facts re-indexes its document: the evaluations trigger marks it.
    await facts.updateTable('findings').set({ facts_dirty: false }).execute();
    await db.updateTable('findings').set({ status: 'open', resolved_at: null, resolution: null }).execute();
    // Reopening 'plain' (escalated) marked it again: clear, so the mark below comes from the evaluations trigger.
    expect(await state()).toEqual({ excepted: false, plain: true });
    await facts.updateTable('findings').set({ facts_dirty: false }).execute();
    const evaluation = (findingId: string, eventId: string) => ({
      evaluation_key: `key-${findingId}`,
      account_id: '111122223333',
      region: 'us-east-1',
      rule: 'r',
      resource_type: 'AWS::S3::Bucket',
      resource_id: findingId,
      compliance: 'NON_COMPLIANT',
      ordering_time: at,
      event_id: eventId,
      in_scope: true,
      open_finding_id: findingId,
    });
    await db.insertInto('evaluations').values([evaluation('plain', 'e1'), evaluation('excepted', 'e1')]).execute();
    expect(await state()).toEqual({ excepted: false, plain: false });
    await db.updateTable('evaluations').set({ event_id: 'e2' }).execute();
    // 'plain' was escalated; 'excepted' no longer has any facts.
    expect(await state()).toEqual({ excepted: false, plain: true });
  }

  it('on PGlite (the embedded database)', async () => {
    const embedded = await openDatabase({});
    try {
      expect(await migrateToLatest(embedded.db)).toContain('0004-finding-facts-sync');
      await checkTriggers(embedded.db);
    } finally {
      await embedded.close();
    }
  }, 60_000);

  it('marks findings whose facts were recorded before the migration (PGlite)', async () => {
    const embedded = await openDatabase({});
    try {
      const migrator = new Migrator({ db: embedded.db, provider: { getMigrations: async () => Migrations } });
      expect((await migrator.migrateTo('0003-sla-exceptions-report')).error).toBeUndefined();
      await insertFindings(embedded.db, [
        makeFinding({ findingId: 'escalated-before', openedAt: '2026-03-01T10:00:00Z', deadline: '2026-03-02T10:00:00Z' }),
        makeFinding({ findingId: 'quiet', openedAt: '2026-03-01T10:00:00Z', deadline: '2026-03-02T10:00:00Z' }),
      ]);
      await embedded.db.updateTable('findings').set({ escalated_at: new Date('2026-03-02T11:00:00Z') }).where('finding_id', '=', 'escalated-before').execute();
      await migrateToLatest(embedded.db);
      const rows = await factsDb(embedded.db).selectFrom('findings').select(['finding_id', 'facts_dirty']).orderBy('finding_id').execute();
      expect(rows).toEqual([
        { finding_id: 'escalated-before', facts_dirty: true },
        { finding_id: 'quiet', facts_dirty: false },
      ]);
    } finally {
      await embedded.close();
    }
  }, 60_000);

  it('on Postgres', async () => {
    const database = await createTestDatabase();
    try {
      await checkTriggers(database.db);
    } finally {
      await database.drop();
    }
  });
});
