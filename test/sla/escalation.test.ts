import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { sql } from 'kysely';
import { createTestDatabase } from '../support/postgres.ts';
import type { TestDatabase } from '../support/postgres.ts';
import { openDatabase } from '../../pipeline/store/open-database.ts';
import type { StateDatabase } from '../../pipeline/store/open-database.ts';
import { Escalator } from '../../pipeline/escalation/escalator.ts';
import { createScheduler } from '../../pipeline/escalation/create-scheduler.ts';
import { loadEscalationFacts } from '../../pipeline/escalation/escalation-facts.ts';
import { ManualClock } from '../../pipeline/clock/manual-clock.ts';
import { SlaPolicy } from '../../stages/track/sla-policy.ts';
import { SlaPolicyFile } from '../../schemas/sla-policy.ts';
import { insertFindings, makeFinding, outbox, resolveFinding } from './sla-fixtures.ts';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const H = 3_600_000;
const signal = new AbortController().signal;

describe('escalation to security', () => {
  let database: TestDatabase;
  const sla = SlaPolicy.defaults();

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });
  beforeEach(async () => {
    await sql`truncate findings, notification_outbox, escalations, risk_exceptions`.execute(database.db);
  });

  it('escalates each overdue open Critical/High finding once, then reminds daily until it resolves', async () => {
    const clock = new ManualClock('2026-02-10T12:00:00Z');
    const escalator = new Escalator({ db: database.db, sla, securityChannel: '#sec', logger });
    await insertFindings(database.db, [
      makeFinding({ findingId: 'crit-overdue', severity: 'Critical', openedAt: '2026-02-09T10:00:00Z', deadline: '2026-02-10T10:00:00Z', owner: 'payments' }),
      makeFinding({ findingId: 'high-overdue', severity: 'High', openedAt: '2026-02-04T09:00:00Z', deadline: '2026-02-09T09:00:00Z', owner: 'identity' }),
      makeFinding({ findingId: 'high-not-yet', severity: 'High', openedAt: '2026-02-09T09:00:00Z', deadline: '2026-02-12T09:00:00Z' }),
      makeFinding({ findingId: 'medium-overdue', severity: 'Medium', openedAt: '2026-01-01T09:00:00Z', deadline: '2026-01-31T09:00:00Z' }),
      makeFinding({ findingId: 'crit-resolved', severity: 'Critical', openedAt: '2026-02-08T09:00:00Z', deadline: '2026-02-09T09:00:00Z', resolvedAt: '2026-02-10T08:00:00Z' }),
      makeFinding({ findingId: 'crit-exactly-due', severity: 'Critical', openedAt: '2026-02-09T12:00:00Z', deadline: '2026-02-10T12:00:00Z' }),
    ]);

    const first = await escalator.escalateDue(clock.now(), signal);
    expect(first).toEqual({ escalated: 3, reminded: 0 });
    const notices = await database.db.withTables<{ escalations: { finding_id: string; kind: string; n: number; channel: string; owner: string; at: Date } }>()
      .selectFrom('escalations').selectAll().orderBy('finding_id').execute();
    expect(notices.map((e) => [e.finding_id, e.kind, e.n, e.channel, e.owner])).toEqual([
      ['crit-exactly-due', 'escalation', 0, '#sec', 'payments'],
      ['crit-overdue', 'escalation', 0, '#sec', 'payments'],
      ['high-overdue', 'escalation', 0, '#sec', 'identity'],
    ]);
    const intents = await outbox(database.db, 'finding.escalated');
    expect(intents.map((i) => i.intentId)).toEqual([
      'crit-exactly-due:finding.escalated:0',
      'crit-overdue:finding.escalated:0',
      'high-overdue:finding.escalated:0',
    ]);
    const high = intents.find((i) => i.findingId === 'high-overdue')!;
    expect(high.payload).toMatchObject({
      kind: 'finding.escalated',
      finding: { findingId: 'high-overdue', owner: 'identity', severity: 'High', deadline: Date.parse('2026-02-09T09:00:00Z') },
      escalation: { reminder: false, count: 0, at: clock.now() },
    });
    const row = await database.db.selectFrom('findings').selectAll().where('finding_id', '=', 'high-overdue').executeTakeFirstOrThrow();
    expect(row.escalated_at?.getTime()).toBe(clock.now());
    expect(row.reminder_count).toBe(0);

    // Same instant, and 23 hours later: nothing new.
    expect(await escalator.escalateDue(clock.now(), signal)).toEqual({ escalated: 0, reminded: 0 });
    clock.advance(23 * H);
    expect(await escalator.escalateDue(clock.now(), signal)).toEqual({ escalated: 0, reminded: 0 });

    // 24 hours after the escalation: one reminder each.
    clock.advance(1 * H);
    expect(await escalator.escalateDue(clock.now(), signal)).toEqual({ escalated: 0, reminded: 3 });
    const reminder = (await outbox(database.db, 'finding.escalated')).find((i) => i.intentId === 'crit-overdue:finding.escalated:1')!;
    expect(reminder.payload.escalation).toEqual({ reminder: true, count: 1, at: clock.now() });

    // Resolved findings stop reminding; open ones go on at the daily cadence; the High due on the 12th escalates.
    await resolveFinding(database.db, 'crit-overdue', clock.now());
    clock.advance(24 * H);
    expect(await escalator.escalateDue(clock.now(), signal)).toEqual({ escalated: 1, reminded: 2 });
    const after = await database.db.selectFrom('findings').select(['finding_id', 'reminder_count', 'last_reminder_at']).orderBy('finding_id').execute();
    expect(Object.fromEntries(after.map((f) => [f.finding_id, f.reminder_count]))).toEqual({
      'crit-exactly-due': 2, 'crit-overdue': 1, 'crit-resolved': 0, 'high-not-yet': 0, 'high-overdue': 2, 'medium-overdue': 0,
    });
    expect(await outbox(database.db, 'finding.escalated')).toHaveLength(3 + 3 + 3);

    // The facts a finding document shows.
    const facts = await loadEscalationFacts(database.db, ['high-overdue', 'medium-overdue'], clock.now());
    expect(facts.get('high-overdue')).toMatchObject({
      slaBreached: true, excepted: false, reminderCount: 2, escalatedAt: '2026-02-10T12:00:00.000Z', lastReminderAt: '2026-02-12T12:00:00.000Z',
    });
    expect(facts.get('high-overdue')!.escalations.map((e) => [e.kind, e.n])).toEqual([['escalation', 0], ['reminder', 1], ['reminder', 2]]);
    expect(facts.get('medium-overdue')).toMatchObject({ slaBreached: true, escalatedAt: null, escalations: [] });
  });

  it('follows the policy: reminder cadence, and a severity that does not escalate', async () => {
    const custom = new SlaPolicy(SlaPolicyFile.parse({ reminderEveryHours: 4, severities: { High: { within: { businessDays: 3 }, escalate: false } } }));
    const escalator = new Escalator({ db: database.db, sla: custom, securityChannel: '#sec', logger });
    const clock = new ManualClock('2026-02-10T12:00:00Z');
    await insertFindings(database.db, [
      makeFinding({ findingId: 'c', severity: 'Critical', openedAt: '2026-02-09T10:00:00Z', deadline: '2026-02-10T10:00:00Z' }),
      makeFinding({ findingId: 'h', severity: 'High', openedAt: '2026-02-04T09:00:00Z', deadline: '2026-02-09T09:00:00Z' }),
    ]);
    expect(await escalator.escalateDue(clock.now(), signal)).toEqual({ escalated: 1, reminded: 0 });
    clock.advance(4 * H);
    expect(await escalator.escalateDue(clock.now(), signal)).toEqual({ escalated: 0, reminded: 1 });
  });

  it('escalates exactly once when two escalators on separate connection pools race', async () => {
    const second: StateDatabase = await openDatabase({ url: database.url, poolSize: 4 });
    try {
      const findings = Array.from({ length: 300 }, (_, i) =>
        makeFinding({ findingId: `race-${String(i).padStart(3, '0')}`, severity: i % 2 ? 'High' : 'Critical', openedAt: '2026-02-01T00:00:00Z', deadline: '2026-02-02T00:00:00Z' }),
      );
      await insertFindings(database.db, findings);
      // Small batches so the two interleave many transactions over the same due rows.
      const a = new Escalator({ db: database.db, sla, securityChannel: '#sec', batchSize: 7 });
      const b = new Escalator({ db: second.db, sla, securityChannel: '#sec', batchSize: 7 });
      const now = Date.parse('2026-02-03T00:00:00Z');
      const results = await Promise.all([a.escalateDue(now, signal), b.escalateDue(now, signal), a.escalateDue(now, signal), b.escalateDue(now, signal)]);
      expect(results.reduce((sum, r) => sum + r.escalated, 0)).toBe(300);
      const counts = async () =>
        (await sql<{ kind: string; n: number; rows: number; findings: number }>`
          select kind, n, count(*)::int as rows, count(distinct finding_id)::int as findings from escalations group by kind, n order by n`.execute(database.db)).rows;
      expect(await counts()).toEqual([{ kind: 'escalation', n: 0, rows: 300, findings: 300 }]);
      expect(await outbox(database.db, 'finding.escalated')).toHaveLength(300);

      // The reminders race the same way.
      const later = now + 24 * H;
      const reminders = await Promise.all([b.escalateDue(later, signal), a.escalateDue(later, signal), b.escalateDue(later, signal)]);
      expect(reminders.reduce((sum, r) => sum + r.reminded, 0)).toBe(300);
      expect(reminders.reduce((sum, r) => sum + r.escalated, 0)).toBe(0);
      expect(await counts()).toEqual([
        { kind: 'escalation', n: 0, rows: 300, findings: 300 },
        { kind: 'reminder', n: 1, rows: 300, findings: 300 },
      ]);
      const outboxRows = await sql<{ n: number; distinct_ids: number }>`
        select count(*)::int as n, count(distinct intent_id)::int as distinct_ids from notification_outbox where kind = 'finding.escalated'`.execute(database.db);
      expect(outboxRows.rows[0]).toEqual({ n: 600, distinct_ids: 600 });
    } finally {
      await second.close();
    }
  });

  it('runs escalation, exception expiry and the snapshot in one scheduler pass, and stops on abort', async () => {
    const clock = new ManualClock('2026-02-10T12:00:00Z');
    await insertFindings(database.db, [makeFinding({ findingId: 'due', severity: 'Critical', openedAt: '2026-02-09T10:00:00Z', deadline: '2026-02-10T10:00:00Z' })]);
    const scheduler = createScheduler({ db: database.db, sla, clock, logger, securityChannel: '#sec', intervalMs: 60_000 });
    const pass = await scheduler.runOnce(signal);
    expect(pass.escalations).toEqual({ escalated: 1, reminded: 0 });
    expect(pass.exceptions).toMatchObject({ realerted: 0, expired: 0 });
    expect(pass.snapshot).toEqual({ day: '2026-02-10', rows: 0 });
    const controller = new AbortController();
    const running = scheduler.run(controller.signal);
    controller.abort(new Error('test over'));
    await expect(running).resolves.toBeUndefined();
  });
});
