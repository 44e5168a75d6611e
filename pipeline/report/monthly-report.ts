import { z } from 'zod';

/**
 * An account's (or the company's) figures for a month. Rates are percentages rounded to 2 decimals, `change` is in
 * percentage points against the previous month; null when there is nothing to compare.
 *
 * @example
 * { evaluated: 8, compliant: 7, complianceRate: 87.5, previousComplianceRate: 75, change: 12.5, openCritical: 0,
 *   openHigh: 1, excepted: 0, slaBreaches: 1, resolved: 2, meanTimeToResolveHours: 36 }
 */
export const ReportFigures = z.object({
  /** In-scope rule-resource pairs evaluated COMPLIANT or NON_COMPLIANT at the month's last snapshot. */
  evaluated: z.number().int().nonnegative(),
  compliant: z.number().int().nonnegative(),
  complianceRate: z.number().nullable(),
  previousComplianceRate: z.number().nullable(),
  change: z.number().nullable(),
  /** Open at month end and not covered by a risk exception in force then. */
  openCritical: z.number().int().nonnegative(),
  openHigh: z.number().int().nonnegative(),
  /** Open findings (any severity) a risk exception covered at month end. */
  excepted: z.number().int().nonnegative(),
  /** Findings whose deadline fell in the month and passed unresolved, unless an exception covered them then. */
  slaBreaches: z.number().int().nonnegative(),
  /** Findings resolved during the month, and their mean open time. */
  resolved: z.number().int().nonnegative(),
  meanTimeToResolveHours: z.number().nullable(),
});
export type ReportFigures = z.infer<typeof ReportFigures>;

/**
 * One account's line: rank by compliance rate (1 = best; equal rates share a rank; null without a rate).
 *
 * @example
 * { rank: 1, accountId: '111122223333', accountName: 'payments-prod', evaluated: 8, compliant: 8, complianceRate: 100,
 *   previousComplianceRate: 87.5, change: 12.5, openCritical: 0, openHigh: 0, excepted: 0, slaBreaches: 0, resolved: 1,
 *   meanTimeToResolveHours: 4 }
 */
export const AccountReportLine = z.object({
  rank: z.number().int().positive().nullable(),
  accountId: z.string(),
  accountName: z.string(),
  ...ReportFigures.shape,
});
export type AccountReportLine = z.infer<typeof AccountReportLine>;

/**
 * A mention in the ranking.
 *
 * @example
 * { accountId: '111122223333', accountName: 'payments-prod', complianceRate: 100, change: 12.5 }
 */
export const RankingEntry = z.object({
  accountId: z.string(),
  accountName: z.string(),
  complianceRate: z.number().nullable(),
  change: z.number().nullable(),
});
export type RankingEntry = z.infer<typeof RankingEntry>;

/**
 * The monthly compliance report: the JSON contract of `driftwatch report --format json` (schemaVersion changes
 * whenever a field changes meaning or disappears; output is deterministic: no generation time, fixed key order,
 * accounts by rank then id).
 *
 * @example
 * { schemaVersion: 1, month: '2026-02', timezone: 'UTC', periodStart: '2026-02-01T00:00:00.000Z',
 *   periodEnd: '2026-03-01T00:00:00.000Z', snapshotDay: '2026-02-28', previousSnapshotDay: '2026-01-31',
 *   totals: { evaluated: 16, compliant: 12, complianceRate: 75, previousComplianceRate: 62.5, change: 12.5, openCritical: 1,
 *             openHigh: 1, excepted: 0, slaBreaches: 2, resolved: 3, meanTimeToResolveHours: 30 },
 *   accounts: [], ranking: { highest: [], improvers: [], lowest: [] } }
 */
export const MonthlyReport = z.object({
  schemaVersion: z.literal(1),
  month: z.string().regex(/^\d{4}-\d{2}$/),
  timezone: z.string(),
  periodStart: z.string(),
  periodEnd: z.string(),
  /** The snapshot day the month-end figures come from (the month's last), or null if none was taken. */
  snapshotDay: z.string().nullable(),
  previousSnapshotDay: z.string().nullable(),
  totals: ReportFigures,
  accounts: z.array(AccountReportLine),
  ranking: z.object({
    highest: z.array(RankingEntry),
    improvers: z.array(RankingEntry),
    lowest: z.array(RankingEntry),
  }),
});
export type MonthlyReport = z.infer<typeof MonthlyReport>;
