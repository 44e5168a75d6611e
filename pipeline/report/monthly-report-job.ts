import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { DateTime } from 'luxon';
import type { SlaPolicy } from '../../stages/track/sla-policy.ts';
import type { Database } from '../store/database-schema.ts';
import { enqueueMonthlyReport, monthlyReportIntentId } from './post-report.ts';
import { buildMonthlyReport } from './report-builder.ts';
import { monthPeriod, previousMonthOf } from './report-month.ts';

/** When `run` posts last month's report: the first business day (SLA calendar), a day of the month, or never. */
export type ReportDay = 'first-business-day' | 'off' | number;

export interface MonthlyReportJobOptions {
  readonly db: Kysely<Database>;
  readonly sla: SlaPolicy;
  readonly channel: string;
  readonly day: ReportDay;
  /** Local hour (SLA calendar timezone) from which the report is due that day. */
  readonly hour: number;
  readonly top?: number;
  readonly accountName?: (accountId: string) => string | undefined;
}

export interface MonthlyReportJobResult {
  readonly month: string;
  /** not-due: before the report day and hour; no-data: no snapshot of that month to rank (nothing ran then). */
  readonly status: 'off' | 'not-due' | 'already-queued' | 'no-data' | 'queued';
}

/**
 * One pass of the monthly report schedule (the SLA scheduler runs it every minute on every worker). From the report
 * day's hour on, last month's report is built and queued for Slack through the outbox, whose unique intent id makes
 * it exactly once across workers, restarts and a `report --post` by hand. A worker that was down on the day posts at
 * its first pass after.
 */
export async function runMonthlyReportJob(options: MonthlyReportJobOptions, now: number): Promise<MonthlyReportJobResult> {
  const month = previousMonthOf(now, options.sla.timezone);
  if (options.day === 'off') return { month, status: 'off' };
  if (now < reportDueAt(options, now)) return { month, status: 'not-due' };
  const existing = await sql<{ n: number }>`select 1 as n from notification_outbox where intent_id = ${monthlyReportIntentId(month)}`.execute(options.db);
  if (existing.rows.length > 0) return { month, status: 'already-queued' };
  // Two cheap checks before the report's heavier queries, which hold several connections: this job runs every pass.
  const period = monthPeriod(month, options.sla.timezone);
  const snapshot = await sql<{ n: number }>`
    select 1 as n from compliance_snapshots where day between ${period.firstDay}::date and ${period.lastDay}::date and evaluated > 0 limit 1`.execute(options.db);
  if (snapshot.rows.length === 0) return { month, status: 'no-data' };
  const report = await buildMonthlyReport(options.db, {
    month,
    timezone: options.sla.timezone,
    now,
    top: options.top ?? 3,
    ...(options.accountName ? { accountName: options.accountName } : {}),
  });
  if (report.snapshotDay === null) return { month, status: 'no-data' };
  const { queued } = await enqueueMonthlyReport(options.db, report, options.channel);
  return { month, status: queued ? 'queued' : 'already-queued' };
}

/** Epoch ms from which this month's report (about last month) is due. */
export function reportDueAt(options: Pick<MonthlyReportJobOptions, 'sla' | 'day' | 'hour'>, now: number): number {
  const monthStart = DateTime.fromMillis(now, { zone: options.sla.timezone }).startOf('month');
  let day = monthStart;
  if (options.day === 'first-business-day') {
    // A month always has a business day within its first weeks (the calendar is checked to have some).
    for (let i = 0; i < 31 && !options.sla.isBusinessDay(day); i++) day = monthStart.plus({ days: i + 1 });
  } else if (typeof options.day === 'number') {
    day = monthStart.plus({ days: Math.min(options.day, monthStart.daysInMonth ?? 28) - 1 });
  }
  return day.set({ hour: options.hour, minute: 0, second: 0, millisecond: 0 }).toMillis();
}
