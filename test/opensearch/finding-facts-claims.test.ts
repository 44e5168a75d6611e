import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@opensearch-project/opensearch';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../pipeline/clock/manual-clock.ts';
import { loadSettings } from '../../pipeline/config/load-settings.ts';
import { createOpenSearchClient } from '../../pipeline/sinks/opensearch/client.ts';
import { openSearchConfigFromSettings } from '../../pipeline/sinks/opensearch/config.ts';
import { FindingFactsSync } from '../../pipeline/sinks/opensearch/finding-facts-sync.ts';
import type { FindingFactsColumns, FindingFactsSyncSummary } from '../../pipeline/sinks/opensearch/finding-facts-sync.ts';
import type { Database, FindingsTable } from '../../pipeline/store/database-schema.ts';
import { ensureOpenSearch } from '../support/opensearch.ts';
import { openDatabase } from '../../pipeline/store/open-database.ts';
import { migrateToLatest } from '../../pipeline/store/migrate.ts';
import { createTestDatabase } from '../support/postgres.ts';
import type { TestDatabase } from '../support/postgres.ts';
import { insertFindings, makeFinding } from '../sla/sla-fixtures.ts';
import { assertionClient, dropIndices, testIndexPrefix } from './support/opensearch-test-index.ts';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const signal = new AbortController().signal;
const T0 = Date.parse('2026-03-02T10:00:00Z');
const H = 3_600_000;

/**
 * An HTTP proxy in front of OpenSearch that holds every `_bulk` until released: a sync pass stays "in flight" as long
 * as a test needs. It records the finding ids of each `_bulk` it received.
 */
class BulkGate {
  readonly bulks: string[][] = [];
  #server: Server | undefined;
  #release: (() => void) | undefined;
  #released: Promise<void> = Promise.resolve();
  #waiters: { count: number; resolve: () => void }[] = [];

  constructor(private readonly target: string) {}

  async start(): Promise<string> {
    this.#server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', () => resolve()));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** From now on a `_bulk` waits until open() is called. */
  close(): void {
    this.#released = new Promise<void>((resolve) => {
      this.#release = resolve;
    });
  }

  open(): void {
    this.#release?.();
  }

  /** Resolves once `count` bulks in all have arrived (and are held). */
  async arrived(count: number): Promise<void> {
    if (this.bulks.length >= count) return;
    await new Promise<void>((resolve) => this.#waiters.push({ count, resolve }));
  }

  async stop(): Promise<void> {
    this.open();
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    if (req.url?.startsWith('/_bulk')) {
      const ids = body
        .toString('utf8')
        .split('\n')
        .filter((line) => line.startsWith('{"update"'))
        .map((line) => (JSON.parse(line) as { update: { _id: string } }).update._id);
      this.bulks.push(ids);
      for (const waiter of this.#waiters.filter((w) => this.bulks.length >= w.count)) waiter.resolve();
      await this.#released;
    }
    const answer = await fetch(`${this.target}${req.url ?? '/'}`, {
      method: req.method ?? 'GET',
      headers: { 'content-type': String(req.headers['content-type'] ?? 'application/json') },
      ...(body.length > 0 ? { body } : {}),
    });
    res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
    res.end(Buffer.from(await answer.arrayBuffer()));
  }
}

type FactsDb = Kysely<Database & { findings: FindingsTable & FindingFactsColumns }>;

describe('finding facts sync: no findings row stays locked during the OpenSearch request (issue 18)', () => {
  const prefix = testIndexPrefix();
  const clock = new ManualClock(T0 + 30 * H);
  let url: string;
  let assert: Client;
  let database: TestDatabase;
  let facts: FactsDb;
  let gate: BulkGate;
  let proxyUrl: string;
  const syncs: FindingFactsSync[] = [];

  function gatedSync(batchSize = 500): FindingFactsSync {
    const config = openSearchConfigFromSettings(loadSettings({ OPENSEARCH_URL: proxyUrl, OPENSEARCH_INDEX_PREFIX: prefix }))!;
    const sync = new FindingFactsSync({ client: createOpenSearchClient(config), config, db: database.db, logger, clock, batchSize });
    syncs.push(sync);
    return sync;
  }

  /** The evaluation row of an open finding (key `key-<findingId>`): a newer result on it fires the 0005/0009 trigger. */
  async function openEvaluation(findingId: string, eventId: string): Promise<void> {
    await database.db
      .insertInto('evaluations')
      .values({
        evaluation_key: `key-${findingId}`, account_id: '111122223333', region: 'us-east-1', rule: 'r', resource_type: 'AWS::S3::Bucket', resource_id: findingId,
        compliance: 'NON_COMPLIANT', ordering_time: new Date(T0), event_id: eventId, in_scope: true, open_finding_id: findingId,
      })
      .execute();
  }

  /** Open findings with an escalation (so marked), and their documents indexed without facts, as the sink writes them. */
  async function escalatedFindings(ids: readonly string[]): Promise<void> {
    await insertFindings(database.db, ids.map((findingId) => makeFinding({ findingId, resourceId: findingId, openedAt: T0, deadline: T0 + 24 * H })));
    await database.db.updateTable('findings').set({ escalated_at: new Date(T0 + 25 * H) }).where('finding_id', 'in', ids).execute();
    const body = ids.map((id) => `${JSON.stringify({ index: { _index: `${prefix}-findings`, _id: id } })}\n${JSON.stringify({ findingId: id, status: 'open' })}\n`).join('');
    await assert.transport.request({ method: 'POST', path: '/_bulk', bulkBody: body, querystring: { refresh: 'true' } });
  }

  async function marks(ids: readonly string[]): Promise<Record<string, boolean>> {
    const rows = await facts.selectFrom('findings').select(['finding_id', 'facts_dirty']).where('finding_id', 'in', ids).execute();
    return Object.fromEntries(rows.map((r) => [r.finding_id, r.facts_dirty]));
  }

  async function doc(findingId: string): Promise<Record<string, unknown>> {
    const response = await assert.transport.request({ method: 'GET', path: `/${prefix}-findings/_doc/${encodeURIComponent(findingId)}` });
    return (response.body as { _source: Record<string, unknown> })._source;
  }

  /** A state-commit-style write that gives up after 2 s of waiting for a row lock (the stall of issue 18 was ~30 s). */
  async function commitWithin2s(write: (trx: Kysely<Database>) => Promise<unknown>): Promise<void> {
    await database.db.transaction().execute(async (trx) => {
      await sql`set local lock_timeout = '2s'`.execute(trx);
      await write(trx);
    });
  }

  beforeAll(async () => {
    url = await ensureOpenSearch();
    assert = assertionClient(url);
    database = await createTestDatabase();
    facts = database.db.withTables<{ findings: FindingsTable & FindingFactsColumns }>();
    gate = new BulkGate(url);
    proxyUrl = await gate.start();
  }, 240_000);

  afterEach(async () => {
    gate.open();
    await facts.updateTable('findings').set({ facts_dirty: false, facts_claimed_until: null }).execute();
  });

  afterAll(async () => {
    for (const sync of syncs) await sync.close();
    await gate?.stop();
    await database?.drop();
    if (assert) {
      await dropIndices(assert, prefix);
      await assert.close();
    }
  });

  it('lets a state commit update a finding whose facts are being sent, without waiting for the request', async () => {
    await escalatedFindings(['lock-1', 'lock-2']);
    const sync = gatedSync();
    gate.close();
    const pass = sync.syncOnce(signal);
    await gate.arrived(gate.bulks.length + 1);
    // The resolve write and the owner rewrite of a state commit, on findings of the pass in flight.
    await commitWithin2s((trx) =>
      trx.updateTable('findings').set({ status: 'resolved', resolved_at: new Date(T0 + 26 * H), resolution: 'COMPLIANT' }).where('finding_id', '=', 'lock-1').execute(),
    );
    await commitWithin2s((trx) => trx.updateTable('findings').set({ updated_at: new Date(), annotation: 'rewritten' }).where('finding_id', '=', 'lock-2').execute());
    gate.open();
    // lock-2's update changed no facts: its mark is cleared; lock-1 was resolved meanwhile (the resolve write replaces
    // the document), so it stays marked for the next pass.
    expect(await pass).toEqual({ synced: 1, failed: 0 } satisfies FindingFactsSyncSummary);
    expect(await marks(['lock-1', 'lock-2'])).toEqual({ 'lock-1': true, 'lock-2': false });
    expect(await doc('lock-2')).toMatchObject({ escalated: true });
  });

  it('keeps the mark of a change committed while the pass is in flight, and the next pass applies it', async () => {
    await escalatedFindings(['race-reminded', 'race-rewritten', 'race-owner', 'race-quiet']);
    await openEvaluation('race-rewritten', 'e1');
    const sync = gatedSync();
    gate.close();
    const pass = sync.syncOnce(signal);
    await gate.arrived(gate.bulks.length + 1);
    // A reminder (findings trigger), a newer result re-indexing an open finding (evaluations trigger), and an owner
    // move by the accounts sync (account effects), each committed while the pass holds its claims.
    await commitWithin2s((trx) =>
      trx.updateTable('findings').set((eb) => ({ last_reminder_at: new Date(T0 + 49 * H), reminder_count: eb('reminder_count', '+', 1) })).where('finding_id', '=', 'race-reminded').execute(),
    );
    await commitWithin2s((trx) => trx.updateTable('evaluations').set({ event_id: 'e2' }).where('evaluation_key', '=', 'key-race-rewritten').execute());
    await commitWithin2s((trx) =>
      sql`update findings f set owner = 'platform', facts_dirty = true, facts_tried_at = null, facts_version = f.facts_version + 1 where finding_id = 'race-owner'`.execute(trx),
    );
    gate.open();
    expect(await pass).toEqual({ synced: 1, failed: 0 });
    expect(await marks(['race-reminded', 'race-rewritten', 'race-owner', 'race-quiet'])).toEqual({
      'race-reminded': true,
      'race-rewritten': true,
      'race-owner': true,
      'race-quiet': false,
    });
    // The pass in flight sent the facts it had read; the next one sends the newer ones and clears the marks.
    expect(await doc('race-reminded')).toMatchObject({ escalated: true, reminderCount: 0 });
    expect(await gatedSync().syncOnce(signal)).toEqual({ synced: 3, failed: 0 });
    expect(await marks(['race-reminded', 'race-rewritten', 'race-owner'])).toEqual({ 'race-reminded': false, 'race-rewritten': false, 'race-owner': false });
    expect(await doc('race-reminded')).toMatchObject({ reminderCount: 1, lastReminderAt: new Date(T0 + 49 * H).toISOString() });
    expect(await doc('race-owner')).toMatchObject({ owner: 'platform' });
  });

  it('shares the work between two sync workers running at once, never sending a finding twice', async () => {
    const ids = ['share-1', 'share-2', 'share-3', 'share-4', 'share-5', 'share-6'];
    await escalatedFindings(ids);
    const first = gatedSync(3);
    const second = gatedSync(3);
    gate.close();
    const before = gate.bulks.length;
    const one = first.syncOnce(signal);
    await gate.arrived(before + 1);
    const two = second.syncOnce(signal);
    await gate.arrived(before + 2);
    const [a, b] = gate.bulks.slice(before);
    expect(a).toHaveLength(3);
    expect(b).toHaveLength(3);
    expect(new Set([...a!, ...b!])).toEqual(new Set(ids));
    gate.open();
    const results: FindingFactsSyncSummary[] = await Promise.all([one, two]);
    expect(results.reduce((n, r) => n + r.synced, 0)).toBe(6);
    // Each worker went on to a second claim, which found nothing left: no finding was sent twice.
    expect(gate.bulks.slice(before).flat().sort()).toEqual([...ids].sort());
    expect(Object.values(await marks(ids))).toEqual(ids.map(() => false));
  });

  it('skips findings claimed by a live pass, and takes over a claim whose worker died', async () => {
    await escalatedFindings(['claimed-live', 'claimed-dead']);
    await facts.updateTable('findings').set({ facts_claimed_until: sql<Date>`now() + interval '1 hour'` }).where('finding_id', '=', 'claimed-live').execute();
    await facts.updateTable('findings').set({ facts_claimed_until: sql<Date>`now() - interval '1 second'` }).where('finding_id', '=', 'claimed-dead').execute();
    expect(await gatedSync().syncOnce(signal)).toEqual({ synced: 1, failed: 0 });
    expect(await marks(['claimed-live', 'claimed-dead'])).toEqual({ 'claimed-live': true, 'claimed-dead': false });
    const row = await facts.selectFrom('findings').select('facts_claimed_until').where('finding_id', '=', 'claimed-dead').executeTakeFirstOrThrow();
    expect(row.facts_claimed_until).toBeNull();
  });

  it('releases its claims when OpenSearch is unreachable, clearing nothing', async () => {
    await escalatedFindings(['down-1']);
    const config = { ...openSearchConfigFromSettings(loadSettings({ OPENSEARCH_URL: proxyUrl, OPENSEARCH_INDEX_PREFIX: prefix }))!, requestTimeoutMs: 300 };
    const sync = new FindingFactsSync({ client: createOpenSearchClient(config), config, db: database.db, logger, clock });
    syncs.push(sync);
    gate.close();
    // The held `_bulk` times out on the client side: nothing is known about the update.
    expect(await sync.syncOnce(signal)).toEqual({ synced: 0, failed: 1 });
    gate.open();
    const row = await facts.selectFrom('findings').select(['facts_dirty', 'facts_claimed_until', 'facts_tried_at']).where('finding_id', '=', 'down-1').executeTakeFirstOrThrow();
    expect(row).toEqual({ facts_dirty: true, facts_claimed_until: null, facts_tried_at: null });
    // Released at once: the next pass does not wait for the lease to run out.
    expect(await gatedSync().syncOnce(signal)).toEqual({ synced: 1, failed: 0 });
  });

  it('counts every mark in facts_version, and marks a finding already marked only while it is claimed (migration 0009)', async () => {
    await insertFindings(database.db, [makeFinding({ findingId: 'count-1', resourceId: 'count-1', openedAt: T0, deadline: T0 + 24 * H })]);
    await openEvaluation('count-1', 'c0');
    const version = async () => Number((await facts.selectFrom('findings').select('facts_version').where('finding_id', '=', 'count-1').executeTakeFirstOrThrow()).facts_version);
    // A facts change (findings trigger): marked, counted.
    await database.db.updateTable('findings').set({ escalated_at: new Date(T0 + 25 * H) }).where('finding_id', '=', 'count-1').execute();
    expect(await version()).toBe(1);
    // Marked by hand (no count of its own): counted once; a statement that counts its mark is not counted twice.
    await facts.updateTable('findings').set({ facts_dirty: false }).where('finding_id', '=', 'count-1').execute();
    await facts.updateTable('findings').set({ facts_dirty: true }).where('finding_id', '=', 'count-1').execute();
    expect(await version()).toBe(2);
    await facts.updateTable('findings').set({ facts_dirty: false }).where('finding_id', '=', 'count-1').execute();
    await sql`update findings set facts_dirty = true, facts_version = facts_version + 1 where finding_id = 'count-1'`.execute(database.db);
    expect(await version()).toBe(3);
    // Unrelated writes and the sync's own bookkeeping count nothing.
    await facts.updateTable('findings').set({ annotation: 'x', facts_tried_at: new Date(), facts_claimed_until: null }).where('finding_id', '=', 'count-1').execute();
    expect(await version()).toBe(3);
    // A newer result on a finding already marked and not claimed: nothing to add (no pass has read its facts).
    await database.db.updateTable('evaluations').set({ event_id: 'c1' }).where('evaluation_key', '=', 'key-count-1').execute();
    expect(await version()).toBe(3);
    // The same while a pass holds it: counted, so that pass cannot clear the mark.
    await facts.updateTable('findings').set({ facts_claimed_until: sql<Date>`now() + interval '1 minute'` }).where('finding_id', '=', 'count-1').execute();
    await database.db.updateTable('evaluations').set({ event_id: 'c2' }).where('evaluation_key', '=', 'key-count-1').execute();
    expect(await version()).toBe(4);
  });

  it('claims and settles on PGlite (the embedded database) too', async () => {
    const embedded = await openDatabase({});
    try {
      await migrateToLatest(embedded.db);
      await insertFindings(embedded.db, [makeFinding({ findingId: 'embedded-1', resourceId: 'embedded-1', openedAt: T0, deadline: T0 + 24 * H })]);
      await embedded.db.updateTable('findings').set({ escalated_at: new Date(T0 + 25 * H) }).where('finding_id', '=', 'embedded-1').execute();
      await assert.transport.request({ method: 'PUT', path: `/${prefix}-findings/_doc/embedded-1`, body: { findingId: 'embedded-1', status: 'open' }, querystring: { refresh: 'true' } });
      const config = openSearchConfigFromSettings(loadSettings({ OPENSEARCH_URL: url, OPENSEARCH_INDEX_PREFIX: prefix }))!;
      const sync = new FindingFactsSync({ client: createOpenSearchClient(config), config, db: embedded.db, logger, clock });
      syncs.push(sync);
      expect(await sync.syncOnce(signal)).toEqual({ synced: 1, failed: 0 });
      const row = await embedded.db
        .withTables<{ findings: FindingsTable & FindingFactsColumns }>()
        .selectFrom('findings')
        .select(['facts_dirty', 'facts_claimed_until', 'facts_version'])
        .executeTakeFirstOrThrow();
      expect(row).toMatchObject({ facts_dirty: false, facts_claimed_until: null });
      expect(Number(row.facts_version)).toBe(1);
      expect(await doc('embedded-1')).toMatchObject({ escalated: true });
    } finally {
      await embedded.close();
    }
  }, 60_000);
});
