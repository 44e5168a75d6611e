import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../pipeline/clock/manual-clock.ts';
import { createScheduler } from '../../pipeline/escalation/create-scheduler.ts';
import { reportDueAt } from '../../pipeline/report/monthly-report-job.ts';
import { SlaPolicyFile } from '../../schemas/sla-policy.ts';
import { SlaPolicy } from '../../stages/track/sla-policy.ts';
import { createTestDatabase } from '../support/postgres.ts';
import type { TestDatabase } from '../support/postgres.ts';

const logger = pino({ level: 'silent' });
const signal = new AbortController().signal;

describe('run posts the monthly report itself (issue 14 item 8)', () => {
  let database: TestDatabase;
  const sla = SlaPolicy.defaults();

  beforeAll(async () => {
    database = await createTestDatabase();
    // January's month-end state, as the daily snapshots of a running worker left it.
    await sql`insert into compliance_snapshots (day, account_id, rule, evaluated, compliant, non_compliant, excepted, taken_at) values
      ('2026-01-31', '111122223333', 'root-account-mfa-enabled', 10, 9, 1, 0, '2026-01-31T23:59:00Z'),
      ('2026-01-31', '222233334444', 'root-account-mfa-enabled', 10, 5, 5, 0, '2026-01-31T23:59:00Z')`.execute(database.db);
  });

  afterAll(async () => {
    await database?.drop();
  });

  const reports = async () =>
    (await sql<{ intent_id: string; payload: { channel: string; month: string; text: string } }>`
      select intent_id, payload from notification_outbox where kind = 'report.monthly' order by intent_id`.execute(database.db)).rows;

  it('queues last month\'s report once, on the first business day from the report hour, however many workers pass', async () => {
    const clock = new ManualClock('2026-02-02T08:59:00Z'); // Monday 2 February: the 1st is a Sunday
    const report = { channel: '#compliance-report', day: 'first-business-day' as const, hour: 9 };
    const workers = [0, 1, 2].map(() => createScheduler({ db: database.db, sla, clock, logger, securityChannel: '#sec', report }));

    const early = await Promise.all(workers.map((w) => w.runOnce(signal)));
    expect(early.map((p) => p.report?.status)).toEqual(['not-due', 'not-due', 'not-due']);
    expect(await reports()).toEqual([]);

    clock.set('2026-02-02T09:00:00Z');
    const due = await Promise.all(workers.map((w) => w.runOnce(signal)));
    const statuses = due.map((p) => p.report?.status).sort();
    expect(statuses.filter((s) => s === 'queued')).toHaveLength(1);
    expect(statuses.filter((s) => s === 'already-queued')).toHaveLength(2);
    const queued = await reports();
    expect(queued).toHaveLength(1);
    expect(queued[0]).toMatchObject({ intent_id: 'report:2026-01:report.monthly', payload: { channel: '#compliance-report', month: '2026-01' } });
    expect(queued[0]!.payload.text).toContain('*Monthly compliance report 2026-01*');

    // Later passes of the month (and a restart) find it queued.
    clock.set('2026-02-17T12:00:00Z');
    expect((await workers[0]!.runOnce(signal)).report).toEqual({ month: '2026-01', status: 'already-queued' });
    expect(await reports()).toHaveLength(1);
  });

  it('posts nothing for a month without snapshots, and nothing at all when switched off', async () => {
    const clock = new ManualClock('2026-03-02T10:00:00Z');
    const scheduler = createScheduler({ db: database.db, sla, clock, logger, securityChannel: '#sec', report: { channel: '#r', day: 'first-business-day', hour: 9 } });
    // February's snapshots hold no evaluations (nothing was ever evaluated here): no ranking to post.
    expect((await scheduler.runOnce(signal)).report).toEqual({ month: '2026-02', status: 'no-data' });
    const off = createScheduler({ db: database.db, sla, clock, logger, securityChannel: '#sec', report: { channel: '#r', day: 'off', hour: 9 } });
    expect((await off.runOnce(signal)).report).toEqual({ month: '2026-02', status: 'off' });
    expect((await createScheduler({ db: database.db, sla, clock, logger, securityChannel: '#sec' }).runOnce(signal)).report).toBeNull();
  });

  it('finds the due time in the SLA calendar: holidays, weekends, timezone, and a fixed day clamped to the month', () => {
    const tokyo = new SlaPolicy(SlaPolicyFile.parse({ timezone: 'Asia/Tokyo', holidays: ['2026-01-01', '2026-01-02'] }));
    // 1 and 2 January are holidays, 3 and 4 a weekend: Monday 5 January 09:00 in Tokyo.
    expect(new Date(reportDueAt({ sla: tokyo, day: 'first-business-day', hour: 9 }, Date.parse('2026-01-20T00:00:00Z'))).toISOString()).toBe('2026-01-05T00:00:00.000Z');
    expect(new Date(reportDueAt({ sla, day: 28, hour: 0 }, Date.parse('2026-02-10T00:00:00Z'))).toISOString()).toBe('2026-02-28T00:00:00.000Z');
  });
});
