import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstUnsettledDay, loadComplianceTrend, SettledTrendCache } from '../../pipeline/console/queries/compliance-trend.ts';
import { takeComplianceSnapshot } from '../../pipeline/report/compliance-snapshot.ts';
import { createTestDatabase } from '../support/postgres.ts';
import type { TestDatabase } from '../support/postgres.ts';
import { setEvaluations } from '../sla/sla-fixtures.ts';

const Account = '111122223333';

describe('compliance trend of the console: settled days are read once', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterAll(async () => {
    await database?.drop();
  });

  async function state(compliant: number, nonCompliant: number, day: string): Promise<void> {
    const specs = [
      ...Array.from({ length: compliant }, (_, i) => ({ accountId: Account, rule: 'r', resourceId: `ok-${i}`, compliance: 'COMPLIANT' as const })),
      ...Array.from({ length: nonCompliant }, (_, i) => ({ accountId: Account, rule: 'r', resourceId: `bad-${i}`, compliance: 'NON_COMPLIANT' as const })),
    ];
    await database.db.deleteFrom('evaluations').execute();
    await setEvaluations(database.db, specs, `${day}T12:00:00Z`);
    await takeComplianceSnapshot(database.db, day, Date.parse(`${day}T23:00:00Z`));
  }

  it('reads settled days once, the live day every time; without a cache it reads everything', async () => {
    await state(1, 3, '2026-05-01');
    await state(2, 2, '2026-05-03');
    await state(3, 1, '2026-05-04');
    const cache = new SettledTrendCache();
    const read = () => loadComplianceTrend(database.db, { days: 5, settledBefore: '2026-05-04', cache });
    const rates = (points: Awaited<ReturnType<typeof read>>) => points.map((p) => [p.day, p.rate]);
    expect(rates(await read())).toEqual([['2026-05-01', 25], ['2026-05-03', 50], ['2026-05-04', 75]]);
    // A late write to a settled day is not seen through the cache; the live day is.
    await state(0, 4, '2026-05-03');
    await state(4, 0, '2026-05-04');
    expect(rates(await read())).toEqual([['2026-05-01', 25], ['2026-05-03', 50], ['2026-05-04', 100]]);
    expect(rates(await loadComplianceTrend(database.db, { days: 5, settledBefore: '2026-05-04' }))).toEqual([['2026-05-01', 25], ['2026-05-03', 0], ['2026-05-04', 100]]);
    // The latest day's totals, when the caller already has them, are not read again.
    const given = await loadComplianceTrend(database.db, { days: 2, settledBefore: '2026-05-04', latest: { day: '2026-05-04', evaluated: 10, compliant: 1 } });
    expect(rates(given)).toEqual([['2026-05-03', 0], ['2026-05-04', 10]]);
    // One rule's trend.
    expect(rates(await loadComplianceTrend(database.db, { days: 5, settledBefore: '2026-05-04', rule: 'other' }))).toEqual([]);
  });

  it('a day is settled ten minutes after it ended in the SLA timezone', () => {
    expect(firstUnsettledDay(Date.parse('2026-05-04T00:05:00Z'), 'UTC')).toBe('2026-05-03');
    expect(firstUnsettledDay(Date.parse('2026-05-04T00:15:00Z'), 'UTC')).toBe('2026-05-04');
    expect(firstUnsettledDay(Date.parse('2026-05-03T15:05:00Z'), 'Asia/Tokyo')).toBe('2026-05-03');
    expect(firstUnsettledDay(Date.parse('2026-05-03T15:15:00Z'), 'Asia/Tokyo')).toBe('2026-05-04');
  });
});
