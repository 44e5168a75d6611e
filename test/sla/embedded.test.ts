import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../pipeline/store/open-database.ts';
import type { StateDatabase } from '../../pipeline/store/open-database.ts';
import { migrateToLatest } from '../../pipeline/store/migrate.ts';
import { ExceptionStore } from '../../pipeline/exceptions/exception-store.ts';
import { Escalator } from '../../pipeline/escalation/escalator.ts';
import { createScheduler } from '../../pipeline/escalation/create-scheduler.ts';
import { buildMonthlyReport } from '../../pipeline/report/report-builder.ts';
import { ManualClock } from '../../pipeline/clock/manual-clock.ts';
import { SlaPolicy } from '../../stages/track/sla-policy.ts';
import pino from 'pino';
import { insertFindings, makeFinding, outbox, setEvaluations } from './sla-fixtures.ts';

const D = 24 * 3_600_000;
const signal = new AbortController().signal;

// The embedded default (PGlite) runs the same SQL: plpgsql triggers, SKIP LOCKED, DISTINCT ON, FILTER.
describe('SLA, exceptions and report on embedded PGlite', () => {
  let embedded: StateDatabase;

  beforeAll(async () => {
    embedded = await openDatabase({});
    await migrateToLatest(embedded.db);
  });
  afterAll(async () => {
    await embedded?.close();
  });

  it('excepts on insert through the trigger, expires, escalates, snapshots and reports', async () => {
    const db = embedded.db;
    const clock = new ManualClock('2026-04-01T09:00:00Z');
    const sla = SlaPolicy.defaults();
    const { exception } = await new ExceptionStore(db, clock).add({ rule: 'restricted-ssh', until: clock.now() + D, reason: 'bastion', by: 'alice' });
    await insertFindings(db, [
      makeFinding({ findingId: 'ssh', rule: 'restricted-ssh', severity: 'High', openedAt: clock.now(), deadline: clock.now() + 3 * D }),
      makeFinding({ findingId: 'mfa', rule: 'root-account-mfa-enabled', severity: 'Critical', openedAt: clock.now(), deadline: clock.now() + D }),
    ]);
    const excepted = await db.selectFrom('findings').select(['finding_id', 'exception_id']).orderBy('finding_id').execute();
    expect(excepted).toEqual([{ finding_id: 'mfa', exception_id: null }, { finding_id: 'ssh', exception_id: exception.id }]);

    clock.advance(4 * D);
    await setEvaluations(db, [
      { accountId: '111122223333', rule: 'restricted-ssh', resourceId: 'a', compliance: 'NON_COMPLIANT' },
      { accountId: '111122223333', rule: 'restricted-ssh', resourceId: 'b', compliance: 'COMPLIANT' },
    ], clock.now());
    const scheduler = createScheduler({ db, sla, clock, logger: pino({ level: 'silent' }), securityChannel: '#sec' });
    const pass = await scheduler.runOnce(signal);
    expect(pass.exceptions).toMatchObject({ realerted: 1, expired: 1 });
    expect(pass.escalations).toEqual({ escalated: 2, reminded: 0 });
    expect(pass.snapshot).toEqual({ day: '2026-04-05', rows: 1 });
    expect((await outbox(db, 'finding.escalated')).map((o) => o.findingId)).toEqual(['mfa', 'ssh']);
    expect(await new Escalator({ db, sla, securityChannel: '#sec' }).escalateDue(clock.now(), signal)).toEqual({ escalated: 0, reminded: 0 });

    const report = await buildMonthlyReport(db, { month: '2026-04', timezone: 'UTC', now: clock.now() });
    expect(report.totals).toMatchObject({ evaluated: 2, compliant: 1, complianceRate: 50, openCritical: 1, openHigh: 1, slaBreaches: 2 });
  });
});
