import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/postgres.ts';
import type { TestDatabase } from '../support/postgres.ts';
import { takeComplianceSnapshot } from '../../pipeline/report/compliance-snapshot.ts';
import { buildMonthlyReport, round2 } from '../../pipeline/report/report-builder.ts';
import { MonthlyReport } from '../../pipeline/report/monthly-report.ts';
import { formatReport } from '../../pipeline/report/formatters/format-report.ts';
import { formatReportSlack } from '../../pipeline/report/formatters/format-slack.ts';
import { enqueueMonthlyReport } from '../../pipeline/report/post-report.ts';
import { monthPeriod, previousMonthOf } from '../../pipeline/report/report-month.ts';
import { rankAccounts } from '../../pipeline/report/rank-accounts.ts';
import type { EvaluationSpec } from './sla-fixtures.ts';
import { insertFindings, makeFinding, outbox, setEvaluations } from './sla-fixtures.ts';

const A = '111111111111';
const B = '222222222222';
const C = '333333333333';
const D = '444444444444';
const Names: Record<string, string> = { [A]: 'alpha', [B]: 'bravo <ops>', [C]: 'charlie' };
const R1 = 'root-account-mfa-enabled';
const R2 = 's3-bucket-public-read-prohibited';

/** n pairs of one account: `compliant` of them COMPLIANT, the rest NON_COMPLIANT, spread over two rules. */
function pairs(accountId: string, total: number, compliant: number): EvaluationSpec[] {
  return Array.from({ length: total }, (_, i) => ({
    accountId,
    rule: i % 2 ? R2 : R1,
    resourceId: `r${i}`,
    compliance: i < compliant ? 'COMPLIANT' : 'NON_COMPLIANT',
  }));
}

/** Pairs that must never count: not applicable, out of scope, deleted, insufficient data. */
function noise(accountId: string): EvaluationSpec[] {
  return [
    { accountId, rule: R1, resourceId: 'na', compliance: 'NOT_APPLICABLE' },
    { accountId, rule: R1, resourceId: 'out', compliance: 'NON_COMPLIANT', inScope: false },
    { accountId, rule: R2, resourceId: 'gone', compliance: 'DELETED' },
    { accountId, rule: R2, resourceId: 'unknown', compliance: 'INSUFFICIENT_DATA' },
  ];
}

describe('monthly report on a known two-month data set (UTC)', () => {
  let database: TestDatabase;
  const now = Date.parse('2026-03-15T12:00:00Z');
  const options = (month: string, top = 2) => ({ month, timezone: 'UTC', now, top, accountName: (id: string) => Names[id] });

  beforeAll(async () => {
    database = await createTestDatabase();
    const db = database.db;
    // January: a mid-month snapshot that the report must ignore, then the month-end state (A 3/4, B 2/4, C 2/2).
    await setEvaluations(db, [...pairs(A, 4, 1), ...pairs(B, 4, 4)], '2026-01-15T00:00:00Z');
    await takeComplianceSnapshot(db, '2026-01-15', Date.parse('2026-01-15T23:00:00Z'));
    await setEvaluations(db, [...pairs(A, 4, 3), ...pairs(B, 4, 2), ...pairs(C, 2, 2), ...noise(C)], '2026-01-31T00:00:00Z');
    await takeComplianceSnapshot(db, '2026-01-31', Date.parse('2026-01-31T23:50:00Z'));
    // February: mid-month (ignored), then month end taken twice: the later pass of the day wins (A 4/4, B 1/4, C 1/2, D 2/2).
    await takeComplianceSnapshot(db, '2026-02-10', Date.parse('2026-02-10T23:50:00Z'));
    await setEvaluations(db, [...pairs(A, 4, 0), ...pairs(B, 4, 4)], '2026-02-28T00:00:00Z');
    await takeComplianceSnapshot(db, '2026-02-28', Date.parse('2026-02-28T20:00:00Z'));
    await setEvaluations(db, [...pairs(A, 4, 4), ...pairs(B, 4, 1), ...pairs(C, 2, 1), ...pairs(D, 2, 2)], '2026-02-28T22:00:00Z');
    await takeComplianceSnapshot(db, '2026-02-28', Date.parse('2026-02-28T23:55:00Z'));
    // An older pass arriving late (a slow second worker) must not overwrite the newer one.
    await setEvaluations(db, pairs(A, 4, 0), '2026-02-28T23:00:00Z');
    await takeComplianceSnapshot(db, '2026-02-28', Date.parse('2026-02-28T21:00:00Z'));

    await insertFindings(db, [
      // A: Critical due Feb 1 12:00, resolved Feb 1 18:00 (breach, 30 h); High resolved in 24 h before its deadline.
      makeFinding({ findingId: 'a1', accountId: A, severity: 'Critical', openedAt: '2026-01-31T12:00:00Z', deadline: '2026-02-01T12:00:00Z', resolvedAt: '2026-02-01T18:00:00Z' }),
      makeFinding({ findingId: 'a2', accountId: A, severity: 'High', openedAt: '2026-02-02T09:00:00Z', deadline: '2026-02-05T09:00:00Z', resolvedAt: '2026-02-03T09:00:00Z' }),
      // B: open Critical (breach), open High (breach; an exception revoked before its deadline does not excuse it),
      // open High due in March (no breach yet), open Medium (breach; not Critical/High), excepted Critical (no breach).
      makeFinding({ findingId: 'b1', accountId: B, severity: 'Critical', openedAt: '2026-02-10T00:00:00Z', deadline: '2026-02-11T00:00:00Z' }),
      makeFinding({ findingId: 'b2', accountId: B, rule: R2, resourceId: 'bucket-b2', severity: 'High', openedAt: '2026-02-20T10:00:00Z', deadline: '2026-02-25T10:00:00Z' }),
      makeFinding({ findingId: 'b3', accountId: B, severity: 'High', openedAt: '2026-02-26T10:00:00Z', deadline: '2026-03-03T10:00:00Z' }),
      makeFinding({ findingId: 'b4', accountId: B, severity: 'Medium', openedAt: '2026-01-05T00:00:00Z', deadline: '2026-02-04T00:00:00Z' }),
      makeFinding({ findingId: 'b5', accountId: B, rule: 'guardduty-enabled-centralized', resourceId: 'gd', severity: 'Critical', openedAt: '2026-02-12T00:00:00Z', deadline: '2026-02-13T00:00:00Z' }),
      // C: High from January resolved Feb 4 (216 h; its breach was January's); Critical due Feb 28 22:00, resolved Mar 1 01:00.
      makeFinding({ findingId: 'c1', accountId: C, severity: 'High', openedAt: '2026-01-26T08:00:00Z', deadline: '2026-01-29T08:00:00Z', resolvedAt: '2026-02-04T08:00:00Z' }),
      makeFinding({ findingId: 'c2', accountId: C, rule: R2, resourceId: 'bucket-c2', severity: 'Critical', openedAt: '2026-02-27T22:00:00Z', deadline: '2026-02-28T22:00:00Z', resolvedAt: '2026-03-01T01:00:00Z' }),
    ]);
    await db.withTables<{ risk_exceptions: { id: string; rule: string; account_id: string | null; resource_id: string | null; until: Date; reason: string; created_by: string; created_at: Date; revoked_at: Date | null; revoked_by: string | null } }>()
      .insertInto('risk_exceptions')
      .values([
        // Covers b5 from before its deadline to after month end.
        { id: 'exc-x', rule: 'guardduty-enabled-centralized', account_id: B, resource_id: null, until: new Date('2026-03-31T00:00:00Z'), reason: 'r', created_by: 'a', created_at: new Date('2026-02-12T01:00:00Z'), revoked_at: null, revoked_by: null },
        // Covered b2 for a while, revoked before its deadline.
        { id: 'exc-z', rule: R2, account_id: B, resource_id: 'bucket-b2', until: new Date('2026-04-01T00:00:00Z'), reason: 'r', created_by: 'a', created_at: new Date('2026-02-21T00:00:00Z'), revoked_at: new Date('2026-02-24T00:00:00Z'), revoked_by: 'b' },
        // Created after c2's deadline and after month end: changes nothing about February.
        { id: 'exc-y', rule: R2, account_id: C, resource_id: null, until: new Date('2026-06-01T00:00:00Z'), reason: 'r', created_by: 'a', created_at: new Date('2026-03-01T00:30:00Z'), revoked_at: null, revoked_by: null },
      ])
      .execute();
  });

  afterAll(async () => {
    await database?.drop();
  });

  it('keeps one snapshot row per day, account and rule, counting only in-scope COMPLIANT/NON_COMPLIANT pairs', async () => {
    const rows = await database.db.withTables<{ compliance_snapshots: { day: string; account_id: string; rule: string; evaluated: number; compliant: number } }>()
      .selectFrom('compliance_snapshots')
      .select((eb) => [eb.cast<string>('day', 'text').as('day'), 'account_id', 'rule', 'evaluated', 'compliant'])
      .where('account_id', '=', C)
      .orderBy('day')
      .orderBy('rule')
      .execute();
    expect(rows.filter((r) => r.day === '2026-01-31')).toEqual([
      { day: '2026-01-31', account_id: C, rule: R1, evaluated: 1, compliant: 1 },
      { day: '2026-01-31', account_id: C, rule: R2, evaluated: 1, compliant: 1 },
    ]);
  });

  it('computes February exactly as by hand', async () => {
    const report = await buildMonthlyReport(database.db, options('2026-02'));
    const line = (rank: number | null, accountId: string, accountName: string, f: Partial<MonthlyReport['totals']>) => ({
      rank, accountId, accountName,
      evaluated: 0, compliant: 0, complianceRate: null, previousComplianceRate: null, change: null,
      openCritical: 0, openHigh: 0, excepted: 0, slaBreaches: 0, resolved: 0, meanTimeToResolveHours: null, ...f,
    });
    expect(report).toEqual({
      schemaVersion: 1,
      month: '2026-02',
      timezone: 'UTC',
      periodStart: '2026-02-01T00:00:00.000Z',
      periodEnd: '2026-03-01T00:00:00.000Z',
      snapshotDay: '2026-02-28',
      previousSnapshotDay: '2026-01-31',
      // 12 evaluated, 8 compliant = 66.67%; January 7/10 = 70% -> -3.33 pp. MTTR (30 + 24 + 216) / 3 = 90 h.
      totals: {
        evaluated: 12, compliant: 8, complianceRate: 66.67, previousComplianceRate: 70, change: -3.33,
        openCritical: 2, openHigh: 2, excepted: 1, slaBreaches: 5, resolved: 3, meanTimeToResolveHours: 90,
      },
      accounts: [
        line(1, A, 'alpha', { evaluated: 4, compliant: 4, complianceRate: 100, previousComplianceRate: 75, change: 25, slaBreaches: 1, resolved: 2, meanTimeToResolveHours: 27 }),
        line(1, D, D, { evaluated: 2, compliant: 2, complianceRate: 100 }),
        line(3, C, 'charlie', { evaluated: 2, compliant: 1, complianceRate: 50, previousComplianceRate: 100, change: -50, openCritical: 1, slaBreaches: 1, resolved: 1, meanTimeToResolveHours: 216 }),
        line(4, B, 'bravo <ops>', { evaluated: 4, compliant: 1, complianceRate: 25, previousComplianceRate: 50, change: -25, openCritical: 1, openHigh: 2, excepted: 1, slaBreaches: 3 }),
      ],
      ranking: {
        highest: [
          { accountId: A, accountName: 'alpha', complianceRate: 100, change: 25 },
          { accountId: D, accountName: D, complianceRate: 100, change: null },
        ],
        improvers: [{ accountId: A, accountName: 'alpha', complianceRate: 100, change: 25 }],
        lowest: [
          { accountId: B, accountName: 'bravo <ops>', complianceRate: 25, change: -25 },
          { accountId: C, accountName: 'charlie', complianceRate: 50, change: -50 },
        ],
      },
    });
  });

  it('computes January from the same history (open at month end, January breaches, no earlier month)', async () => {
    const report = await buildMonthlyReport(database.db, options('2026-01', 3));
    expect(report.totals).toEqual({
      evaluated: 10, compliant: 7, complianceRate: 70, previousComplianceRate: null, change: null,
      // a1 (Critical) and c1 (High) were open at Feb 1 00:00; b4 is Medium. Breach: c1 (due Jan 29, resolved Feb 4).
      openCritical: 1, openHigh: 1, excepted: 0, slaBreaches: 1, resolved: 0, meanTimeToResolveHours: null,
    });
    expect(report.snapshotDay).toBe('2026-01-31');
    expect(report.accounts.map((a) => [a.rank, a.accountId, a.complianceRate])).toEqual([[1, C, 100], [2, A, 75], [3, B, 50]]);
    expect(report.ranking.improvers).toEqual([]);
    // C is praised; the two others are below 100% and not praised... unless the top three take everyone.
    expect(report.ranking.lowest).toEqual([]);
  });

  it('counts a breach of the month in progress only once its deadline has passed', async () => {
    const march = await buildMonthlyReport(database.db, { ...options('2026-03'), now: Date.parse('2026-03-02T00:00:00Z') });
    expect(march.totals.slaBreaches).toBe(0); // b3 is due Mar 3 10:00
    const later = await buildMonthlyReport(database.db, { ...options('2026-03'), now: Date.parse('2026-03-04T00:00:00Z') });
    expect(later.totals.slaBreaches).toBe(1);
    expect(later.snapshotDay).toBeNull();
    expect(later.totals.previousComplianceRate).toBe(66.67);
  });

  it('prints byte-stable JSON that validates against the schema, and CSV and Markdown for people', async () => {
    const first = formatReport(await buildMonthlyReport(database.db, options('2026-02')), 'json');
    const second = formatReport(await buildMonthlyReport(database.db, options('2026-02')), 'json');
    expect(second).toBe(first);
    const parsed = JSON.parse(first) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(['schemaVersion', 'month', 'timezone', 'periodStart', 'periodEnd', 'snapshotDay', 'previousSnapshotDay', 'totals', 'accounts', 'ranking']);
    expect(Object.keys((parsed.accounts as Record<string, unknown>[])[0]!)).toEqual([
      'rank', 'accountId', 'accountName', 'evaluated', 'compliant', 'complianceRate', 'previousComplianceRate', 'change',
      'openCritical', 'openHigh', 'excepted', 'slaBreaches', 'resolved', 'meanTimeToResolveHours',
    ]);
    expect(MonthlyReport.safeParse(parsed).success).toBe(true);

    const report = MonthlyReport.parse(parsed);
    const csv = formatReport(report, 'csv').split('\r\n');
    expect(csv[0]).toBe('rank,account_id,account_name,evaluated,compliant,compliance_rate,previous_compliance_rate,change_pp,open_critical,open_high,excepted,sla_breaches,resolved,mean_time_to_resolve_hours');
    expect(csv[1]).toBe(`1,${A},alpha,4,4,100,75,25,0,0,0,1,2,27`);
    expect(csv[2]).toBe(`1,${D},${D},2,2,100,,,0,0,0,0,0,`);
    expect(csv).toHaveLength(6); // header, 4 accounts, trailing empty

    const md = formatReport(report, 'md');
    expect(md).toContain('# Compliance report 2026-02');
    expect(md).toContain('**66.67%** compliant (8 of 12 evaluated), -3.33 pp');
    expect(md).toContain('- Highest compliance: alpha (100%), 444444444444 (100%)');
    expect(md).toContain('- Biggest improvers: alpha (+25 pp)');
    expect(md).toContain('- Lowest compliance: bravo <ops> (25%), charlie (50%)');
    expect(md).toContain(`| 4 | bravo <ops> (${B}) | 25% | -25 pp | 1 | 2 | 1 | 3 | 0 | n/a |`);

    const slack = formatReportSlack(report);
    expect(slack).toContain(':trophy: *Highest compliance:* alpha (100%)');
    expect(slack).toContain('bravo &lt;ops&gt; (25%)');
    expect(slack).not.toContain('<ops>');
  });

  it('queues the Slack post once per month through the outbox', async () => {
    const report = await buildMonthlyReport(database.db, options('2026-02'));
    expect(await enqueueMonthlyReport(database.db, report, '#everyone')).toEqual({ queued: true, intentId: 'report:2026-02:report.monthly' });
    expect(await enqueueMonthlyReport(database.db, report, '#everyone')).toMatchObject({ queued: false });
    const rows = await outbox(database.db, 'report.monthly');
    expect(rows).toHaveLength(1);
    expect(rows[0]!.findingId).toBe('report:2026-02');
    expect(rows[0]!.payload).toEqual({ kind: 'report.monthly', month: '2026-02', channel: '#everyone', text: formatReportSlack(report) });
  });
});

describe('report helpers', () => {
  it('takes month boundaries in the calendar timezone', () => {
    const tokyo = monthPeriod('2026-03', 'Asia/Tokyo');
    expect(new Date(tokyo.start).toISOString()).toBe('2026-02-28T15:00:00.000Z');
    expect(new Date(tokyo.end).toISOString()).toBe('2026-03-31T15:00:00.000Z');
    expect([tokyo.firstDay, tokyo.lastDay, tokyo.previousMonth]).toEqual(['2026-03-01', '2026-03-31', '2026-02']);
    expect(monthPeriod('2026-01', 'UTC').previousMonth).toBe('2025-12');
    expect(monthPeriod('2028-02', 'UTC').lastDay).toBe('2028-02-29');
    expect(() => monthPeriod('2026-13', 'UTC')).toThrow(/YYYY-MM/);
    expect(previousMonthOf(Date.parse('2026-03-01T02:00:00Z'), 'America/New_York')).toBe('2026-01');
    expect(previousMonthOf(Date.parse('2026-03-01T02:00:00Z'), 'UTC')).toBe('2026-02');
  });

  it('rounds half away from zero to two decimals without -0', () => {
    expect([round2(200 / 3), round2(-10 / 3), round2(1.005), round2(-0.001), round2(null)]).toEqual([66.67, -3.33, 1.01, 0, null]);
  });

  it('ranks with shared ranks for ties and never names a 100% account as lowest', () => {
    const account = (id: string, rate: number | null, change: number | null) => ({
      accountId: id, accountName: id, evaluated: 1, compliant: 1, complianceRate: rate, previousComplianceRate: null, change,
      openCritical: 0, openHigh: 0, excepted: 0, slaBreaches: 0, resolved: 0, meanTimeToResolveHours: null,
    });
    const ranking = rankAccounts([account('e', 90, 5), account('b', 100, null), account('a', 100, 1), account('d', 90, 7), account('c', null, null), account('f', 100, 0)], 2);
    expect(ranking.lines.map((l) => [l.rank, l.accountId])).toEqual([[1, 'a'], [1, 'b'], [1, 'f'], [4, 'd'], [4, 'e'], [null, 'c']]);
    expect(ranking.highest.map((a) => a.accountId)).toEqual(['a', 'b']);
    expect(ranking.improvers.map((a) => a.accountId)).toEqual(['d', 'e']);
    expect(ranking.lowest.map((a) => a.accountId)).toEqual(['d', 'e']);
  });
});
