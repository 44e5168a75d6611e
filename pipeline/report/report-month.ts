import { DateTime } from 'luxon';

/** One calendar month in the company's timezone: [start, end) as epoch ms, and its first and last local dates. */
export interface MonthPeriod {
  /** YYYY-MM */
  readonly month: string;
  readonly start: number;
  readonly end: number;
  readonly firstDay: string;
  readonly lastDay: string;
  readonly previousMonth: string;
}

const MonthPattern = /^(\d{4})-(0[1-9]|1[0-2])$/;

export function isReportMonth(text: string): boolean {
  return MonthPattern.test(text);
}

export function monthPeriod(month: string, timezone: string): MonthPeriod {
  const match = MonthPattern.exec(month);
  if (!match) throw new RangeError(`month must be YYYY-MM, got ${month}`);
  const start = DateTime.fromObject({ year: Number(match[1]), month: Number(match[2]), day: 1 }, { zone: timezone }).startOf('day');
  const end = start.plus({ months: 1 });
  return {
    month,
    start: start.toMillis(),
    end: end.toMillis(),
    firstDay: start.toISODate() ?? '',
    lastDay: end.minus({ days: 1 }).toISODate() ?? '',
    previousMonth: start.minus({ months: 1 }).toFormat('yyyy-MM'),
  };
}

/** The month before the one `now` falls in: what a report run at the start of a month is about. */
export function previousMonthOf(now: number, timezone: string): string {
  return DateTime.fromMillis(now, { zone: timezone }).startOf('month').minus({ months: 1 }).toFormat('yyyy-MM');
}
