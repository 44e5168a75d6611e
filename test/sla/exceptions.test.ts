import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { sql } from 'kysely';
import { createTestDatabase } from '../support/postgres.ts';
import type { TestDatabase } from '../support/postgres.ts';
import { ExceptionStore } from '../../pipeline/exceptions/exception-store.ts';
import { expireExceptions } from '../../pipeline/exceptions/exception-expiry.ts';
import { exceptionMatches } from '../../pipeline/exceptions/exception-matching.ts';
import { parseUntil } from '../../pipeline/exceptions/parse-until.ts';
import { RiskExceptionError } from '../../pipeline/exceptions/risk-exception-error.ts';
import { Escalator } from '../../pipeline/escalation/escalator.ts';
import { ManualClock } from '../../pipeline/clock/manual-clock.ts';
import { StateCommitter } from '../../pipeline/sinks/postgres/state-committer.ts';
import { SlaPolicy } from '../../stages/track/sla-policy.ts';
import type { TrackedEvent } from '../../stages/track/tracked-event.ts';
import type { EnrichedEvent } from '../../stages/enrich/enriched-event.ts';
import { insertFindings, makeFinding, outbox } from './sla-fixtures.ts';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const H = 3_600_000;
const D = 24 * H;
const signal = new AbortController().signal;
const RULE = 's3-bucket-public-read-prohibited';
const A = '111111111111';
const B = '222222222222';

describe('risk exceptions', () => {
  let database: TestDatabase;
  const sla = SlaPolicy.defaults();

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });
  beforeEach(async () => {
    await sql`truncate findings, evaluations, notification_outbox, escalations, risk_exceptions`.execute(database.db);
  });

  const exceptionOf = async (findingId: string) =>
    (await database.db.selectFrom('findings').select('exception_id').where('finding_id', '=', findingId).executeTakeFirstOrThrow()).exception_id;

  it('marks the open findings it covers, and only those', async () => {
    const clock = new ManualClock('2026-03-02T09:00:00Z');
    await insertFindings(database.db, [
      makeFinding({ findingId: 'a-web', rule: RULE, accountId: A, resourceId: 'web', severity: 'High', openedAt: '2026-03-01T00:00:00Z' }),
      makeFinding({ findingId: 'a-logs', rule: RULE, accountId: A, resourceId: 'logs', severity: 'High', openedAt: '2026-03-01T00:00:00Z' }),
      makeFinding({ findingId: 'b-web', rule: RULE, accountId: B, resourceId: 'web', severity: 'High', openedAt: '2026-03-01T00:00:00Z' }),
      makeFinding({ findingId: 'a-other-rule', rule: 'restricted-ssh', accountId: A, resourceId: 'web', severity: 'High', openedAt: '2026-03-01T00:00:00Z' }),
      makeFinding({ findingId: 'a-resolved', rule: RULE, accountId: A, resourceId: 'old', severity: 'High', openedAt: '2026-02-01T00:00:00Z', resolvedAt: '2026-02-02T00:00:00Z' }),
    ]);
    const store = new ExceptionStore(database.db, clock);
    const { exception, covered } = await store.add({ rule: RULE, accountId: A, until: clock.now() + 30 * D, reason: 'website bucket', by: 'alice' });
    expect(covered).toBe(2);
    expect(exception).toMatchObject({ rule: RULE, accountId: A, resourceId: null, status: 'active', createdBy: 'alice' });
    expect(exception.id).toMatch(/^exc-[0-9a-f]{10}$/);
    expect(await exceptionOf('a-web')).toBe(exception.id);
    expect(await exceptionOf('a-logs')).toBe(exception.id);
    expect(await exceptionOf('b-web')).toBeNull();
    expect(await exceptionOf('a-other-rule')).toBeNull();
    expect(await exceptionOf('a-resolved')).toBeNull();

    // One resource in every account.
    const web = await store.add({ rule: RULE, resourceId: 'web', until: clock.now() + D, reason: 'shared name', by: 'bob' });
    expect(web.covered).toBe(1); // b-web; a-web keeps the first exception
    expect(await exceptionOf('b-web')).toBe(web.exception.id);

    expect(exceptionMatches({ rule: RULE, accountId: null, resourceId: 'web' }, { rule: RULE, accountId: B, resourceId: 'web' })).toBe(true);
    expect(exceptionMatches({ rule: RULE, accountId: A, resourceId: null }, { rule: RULE, accountId: B, resourceId: 'web' })).toBe(false);
  });

  it('excepts a finding that opens while an exception is in force, in the same transaction, so nobody is alerted or escalated', async () => {
    const clock = new ManualClock('2026-03-02T09:00:00Z');
    const store = new ExceptionStore(database.db, clock);
    const { exception } = await store.add({ rule: RULE, accountId: A, until: clock.now() + 7 * D, reason: 'accepted', by: 'alice' });
    // The real state sink commits the finding and its 'finding.opened' intent together.
    const finding = makeFinding({ findingId: 'opened-later', rule: RULE, accountId: A, resourceId: 'web', severity: 'Critical', openedAt: clock.now(), deadline: clock.now() + D });
    const event = { eventId: 'evt-1', evaluationKey: finding.evaluationKey, accountId: A, region: finding.region, rule: RULE, resourceType: finding.resourceType, resourceId: 'web' } as unknown as EnrichedEvent;
    const state = { evaluationKey: finding.evaluationKey, compliance: 'NON_COMPLIANT' as const, orderingTime: finding.openedAt, eventId: 'evt-1', inScope: true, openFinding: finding };
    // previous: null = nothing was stored for the key, which the commit checks before writing the finding.
    const tracked: TrackedEvent = { event, transition: 'opened', state, finding, previous: null };
    await new StateCommitter(database.db).commit({ source: 'test', tracked: [{ origin: { shardId: 's', sequenceNumber: '1' }, value: tracked }], deadLetters: [], checkpoint: null });
    expect(await exceptionOf('opened-later')).toBe(exception.id);
    const opened = await outbox(database.db, 'finding.opened');
    expect(opened.map((o) => o.findingId)).toEqual(['opened-later']);

    // Past its deadline, still no escalation.
    clock.advance(2 * D);
    const escalator = new Escalator({ db: database.db, sla, securityChannel: '#sec', logger });
    expect(await escalator.escalateDue(clock.now(), signal)).toEqual({ escalated: 0, reminded: 0 });
  });

  it('re-alerts when the exception expires mid-test, audits the expiry once, and lets escalation resume', async () => {
    const clock = new ManualClock('2026-03-02T09:00:00Z');
    const store = new ExceptionStore(database.db, clock);
    await insertFindings(database.db, [
      makeFinding({ findingId: 'f1', rule: RULE, accountId: A, resourceId: 'web', severity: 'Critical', openedAt: '2026-03-02T08:00:00Z', deadline: '2026-03-03T08:00:00Z' }),
    ]);
    // The opened alert was already handled (sent) before the acceptance.
    await database.db.insertInto('notification_outbox').values({ intent_id: 'f1:finding.opened', finding_id: 'f1', kind: 'finding.opened', payload: '{}', status: 'sent' }).execute();
    const { exception } = await store.add({ rule: RULE, resourceId: 'web', until: clock.now() + 3 * D, reason: 'migration in progress', by: 'alice' });
    const escalator = new Escalator({ db: database.db, sla, securityChannel: '#sec', logger });

    clock.advance(2 * D); // past the finding's deadline, exception still in force
    expect(await expireExceptions(database.db, clock.now(), signal)).toEqual({ reassigned: 0, realerted: 0, released: 0, applied: 0, expired: 0 });
    expect(await escalator.escalateDue(clock.now(), signal)).toEqual({ escalated: 0, reminded: 0 });

    clock.advance(1 * D); // exactly at `until`: expired
    expect(await expireExceptions(database.db, clock.now(), signal)).toEqual({ reassigned: 0, realerted: 1, released: 0, applied: 0, expired: 1 });
    expect(await exceptionOf('f1')).toBeNull();
    const realerts = await outbox(database.db, 'finding.realert');
    expect(realerts).toHaveLength(1);
    expect(realerts[0]!.intentId).toBe(`f1:finding.realert:${exception.id}`);
    expect(realerts[0]!.payload).toMatchObject({ kind: 'finding.realert', reason: 'exception-expired', exceptionId: exception.id, finding: { findingId: 'f1', status: 'open' } });
    expect(await escalator.escalateDue(clock.now(), signal)).toEqual({ escalated: 1, reminded: 0 });

    // A second pass (or a second worker) changes nothing.
    expect(await expireExceptions(database.db, clock.now() + H, signal)).toEqual({ reassigned: 0, realerted: 0, released: 0, applied: 0, expired: 0 });
    const history = await store.history(exception.id);
    expect(history.map((h) => [h.action, h.actor])).toEqual([['created', 'alice'], ['expired', 'driftwatch']]);
    expect((await store.get(exception.id))?.status).toBe('expired');
  });

  it('does not queue a re-alert when the finding\'s own opened alert is still pending (it will go out now)', async () => {
    const clock = new ManualClock('2026-03-02T09:00:00Z');
    const store = new ExceptionStore(database.db, clock);
    const { exception } = await store.add({ rule: RULE, until: clock.now() + D, reason: 'short', by: 'alice' });
    await insertFindings(database.db, [makeFinding({ findingId: 'late', rule: RULE, accountId: A, severity: 'High', openedAt: clock.now() })]);
    await database.db.insertInto('notification_outbox').values({ intent_id: 'late:finding.opened', finding_id: 'late', kind: 'finding.opened', payload: '{}' }).execute();
    expect(await exceptionOf('late')).toBe(exception.id);
    clock.advance(D);
    expect(await expireExceptions(database.db, clock.now(), signal)).toMatchObject({ realerted: 0, released: 1 });
    expect(await exceptionOf('late')).toBeNull();
    expect(await outbox(database.db, 'finding.realert')).toHaveLength(0);
  });

  it('hands a finding to another exception in force instead of re-alerting', async () => {
    const clock = new ManualClock('2026-03-02T09:00:00Z');
    const store = new ExceptionStore(database.db, clock);
    await insertFindings(database.db, [makeFinding({ findingId: 'f', rule: RULE, accountId: A, resourceId: 'web', openedAt: '2026-03-01T00:00:00Z' })]);
    const short = await store.add({ rule: RULE, accountId: A, until: clock.now() + D, reason: 'short', by: 'alice' });
    const long = await store.add({ rule: RULE, resourceId: 'web', until: clock.now() + 10 * D, reason: 'long', by: 'bob' });
    expect(short.covered).toBe(1);
    expect(long.covered).toBe(0);
    clock.advance(D + 1);
    expect(await expireExceptions(database.db, clock.now(), signal)).toMatchObject({ reassigned: 1, realerted: 0, expired: 1 });
    expect(await exceptionOf('f')).toBe(long.exception.id);
    expect(await outbox(database.db, 'finding.realert')).toHaveLength(0);
  });

  it('revokes at once (re-alerting), refuses to revoke twice or an unknown id, and keeps the audit trail append-only', async () => {
    const clock = new ManualClock('2026-03-02T09:00:00Z');
    const store = new ExceptionStore(database.db, clock);
    await insertFindings(database.db, [makeFinding({ findingId: 'r', rule: RULE, accountId: B, openedAt: '2026-03-01T00:00:00Z' })]);
    const { exception } = await store.add({ rule: RULE, accountId: B, until: clock.now() + 90 * D, reason: 'vendor appliance', by: 'alice' });
    clock.advance(H);
    const result = await store.revoke(exception.id, 'carol', 'vendor fixed it');
    expect(result).toMatchObject({ realerted: 1, reassigned: 0, released: 0, exception: { status: 'revoked', revokedBy: 'carol', revokeReason: 'vendor fixed it' } });
    expect(await exceptionOf('r')).toBeNull();
    expect((await outbox(database.db, 'finding.realert')).map((o) => o.findingId)).toEqual(['r']);
    await expect(store.revoke(exception.id, 'carol')).rejects.toThrow(new RiskExceptionError(`risk exception ${exception.id} is already revoked`));
    await expect(store.revoke('exc-nope', 'carol')).rejects.toThrow(/no risk exception exc-nope/);

    // A revoked exception never covers a new finding.
    await insertFindings(database.db, [makeFinding({ findingId: 'r2', rule: RULE, accountId: B, openedAt: clock.now() })]);
    expect(await exceptionOf('r2')).toBeNull();

    expect((await store.history(exception.id)).map((h) => h.action)).toEqual(['created', 'revoked']);
    const before = (await store.history()).length;
    await expect(sql`update exception_audit set actor = 'mallory'`.execute(database.db)).rejects.toThrow(/append-only/);
    await expect(sql`delete from exception_audit`.execute(database.db)).rejects.toThrow(/append-only/);
    await expect(sql`truncate exception_audit`.execute(database.db)).rejects.toThrow(/append-only/);
    expect(await store.history()).toHaveLength(before);
    expect((await store.history(exception.id)).map((h) => h.actor)).toEqual(['alice', 'carol']);
  });

  it('lists exceptions in force (or all, with status) and how many open findings each covers', async () => {
    const clock = new ManualClock('2026-03-02T09:00:00Z');
    const store = new ExceptionStore(database.db, clock);
    await insertFindings(database.db, [
      makeFinding({ findingId: 'x', rule: RULE, accountId: A, openedAt: '2026-03-01T00:00:00Z' }),
      makeFinding({ findingId: 'y', rule: RULE, accountId: A, openedAt: '2026-03-01T00:00:00Z' }),
    ]);
    const active = await store.add({ rule: RULE, accountId: A, until: clock.now() + 5 * D, reason: 'r', by: 'alice' });
    clock.advance(H);
    const soon = await store.add({ rule: 'restricted-ssh', until: clock.now() + H, reason: 'r', by: 'alice' });
    clock.advance(H);
    const revoked = await store.add({ rule: 'ami-not-public', until: clock.now() + D, reason: 'r', by: 'alice' });
    await store.revoke(revoked.exception.id, 'bob');
    clock.advance(H);
    const inForce = await store.list();
    expect(inForce.map((e) => [e.id, e.coveredOpenFindings])).toEqual([[active.exception.id, 2]]);
    const all = await store.list({ all: true });
    expect(all.map((e) => [e.id, e.status])).toEqual([
      [revoked.exception.id, 'revoked'],
      [soon.exception.id, 'expired'],
      [active.exception.id, 'active'],
    ]);
  });

  it('marks an open finding that escaped marking (a race with add) on the next pass', async () => {
    const clock = new ManualClock('2026-03-02T09:00:00Z');
    const store = new ExceptionStore(database.db, clock);
    const { exception } = await store.add({ rule: RULE, until: clock.now() + D, reason: 'r', by: 'alice' });
    await insertFindings(database.db, [makeFinding({ findingId: 'race', rule: RULE, accountId: A, openedAt: clock.now() })]);
    // As if the finding had committed concurrently with `add`, seeing neither the exception nor being seen by it.
    await database.db.updateTable('findings').set({ exception_id: null }).where('finding_id', '=', 'race').execute();
    expect(await expireExceptions(database.db, clock.now(), signal)).toMatchObject({ applied: 1 });
    expect(await exceptionOf('race')).toBe(exception.id);
  });

  it('rejects bad requests with a one-line reason', async () => {
    const clock = new ManualClock('2026-03-02T09:00:00Z');
    const store = new ExceptionStore(database.db, clock);
    await expect(store.add({ rule: RULE, until: clock.now() - 1, reason: 'r', by: 'a' })).rejects.toThrow(/not in the future/);
    await expect(store.add({ rule: RULE, until: clock.now() + D, reason: ' ', by: 'a' })).rejects.toThrow('a reason is required');
    await expect(store.add({ rule: RULE, accountId: '12', until: clock.now() + D, reason: 'r', by: 'a' })).rejects.toThrow(/12 digits/);
  });

  it('parses --until as the end of a local date or an exact time', () => {
    const now = Date.parse('2026-03-02T09:00:00Z');
    expect(new Date(parseUntil('2026-06-30', 'UTC', now)).toISOString()).toBe('2026-07-01T00:00:00.000Z');
    expect(new Date(parseUntil('2026-06-30', 'Asia/Tokyo', now)).toISOString()).toBe('2026-06-30T15:00:00.000Z');
    expect(new Date(parseUntil('2026-04-01T12:00:00Z', 'Asia/Tokyo', now)).toISOString()).toBe('2026-04-01T12:00:00.000Z');
    expect(new Date(parseUntil('2026-04-01T12:00', 'America/New_York', now)).toISOString()).toBe('2026-04-01T16:00:00.000Z');
    expect(() => parseUntil('next week', 'UTC', now)).toThrow('invalid --until "next week": expected a date (YYYY-MM-DD) or an ISO 8601 time');
    expect(() => parseUntil('2026-02-30', 'UTC', now)).toThrow(/invalid --until/);
    expect(() => parseUntil('2026-03-01', 'UTC', now)).toThrow('invalid --until "2026-03-01": it is not in the future');
  });
});
