import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { DateTime } from 'luxon';
import type { Database } from '../../store/database-schema.ts';
import { complianceRate } from './console-database.ts';

export interface TrendPoint {
  /** YYYY-MM-DD in the SLA calendar's timezone. */
  readonly day: string;
  readonly evaluated: number;
  readonly compliant: number;
  readonly rate: number | null;
}

type Totals = { readonly evaluated: number; readonly compliant: number } | null;

/**
 * Daily compliance totals of days that can no longer change. The scheduler rewrites only the current day's snapshot
 * (the last pass of a day wins), so a day that ended more than a pass ago is settled: its totals are kept here, and a
 * board reads only the live day instead of summing 90 days of rows every time.
 */
export class SettledTrendCache {
  readonly #days = new Map<string, Totals>();
  readonly #months = new Map<string, ReadonlyMap<string, { evaluated: number; compliant: number }>>();

  /** A past month's last snapshot per account (what the ranking compares with), once that month is settled. */
  month(month: string): ReadonlyMap<string, { evaluated: number; compliant: number }> | undefined {
    return this.#months.get(month);
  }

  setMonth(month: string, accounts: ReadonlyMap<string, { evaluated: number; compliant: number }>): void {
    if (this.#months.size >= 4) this.#months.delete(this.#months.keys().next().value!);
    this.#months.set(month, accounts);
  }

  get(key: string): Totals | undefined {
    return this.#days.get(key);
  }

  set(key: string, totals: Totals): void {
    this.#days.set(key, totals);
  }

  /** Forgets days before `first` (they left the window). */
  prune(first: string): void {
    for (const key of this.#days.keys()) if (key.slice(key.indexOf('|') + 1) < first) this.#days.delete(key);
  }
}

/** Passes run at most a few minutes: ten minutes after a local day ended, no pass can write that day any more. */
const PassMarginMs = 10 * 60_000;

/** The first day (YYYY-MM-DD, SLA timezone) whose snapshot may still change at `now`; days before it are settled. */
export function firstUnsettledDay(now: number, timezone: string): string {
  return DateTime.fromMillis(now - PassMarginMs, { zone: timezone }).toISODate()!;
}

export interface TrendOptions {
  readonly days: number;
  /** Days before this are settled (firstUnsettledDay): taken from the cache once read. */
  readonly settledBefore: string;
  readonly rule?: string;
  readonly cache?: SettledTrendCache;
  /** The latest snapshot day and its totals when the caller has just read them (no need to read them again). */
  readonly latest?: { readonly day: string; readonly evaluated: number; readonly compliant: number };
}

/** Compliance per day over the last `days` days that have snapshots (all rules, or one). */
export async function loadComplianceTrend(db: Kysely<Database>, options: TrendOptions): Promise<TrendPoint[]> {
  const latest = options.latest?.day ?? (await sql<{ day: string | null }>`select max(day)::text as day from compliance_snapshots`.execute(db)).rows[0]?.day;
  if (!latest) return [];
  const end = DateTime.fromISO(latest, { zone: 'utc' });
  const wanted = Array.from({ length: options.days }, (_, i) => end.minus({ days: options.days - 1 - i }).toISODate()!);
  const key = (day: string) => `${options.rule ?? '*'}|${day}`;
  const cache = options.cache;
  cache?.prune(wanted[0]!);
  const missing = wanted.filter((day) => day !== options.latest?.day && (day >= options.settledBefore || cache?.get(key(day)) === undefined));
  const fetched = new Map<string, { evaluated: number; compliant: number }>();
  if (missing.length > 0) {
    const rows = await sql<{ day: string; evaluated: number; compliant: number }>`
      select day::text as day, sum(evaluated)::int as evaluated, sum(compliant)::int as compliant
      from compliance_snapshots
      where day >= ${missing[0]}::date and day <= ${missing[missing.length - 1]}::date ${options.rule === undefined ? sql`` : sql`and rule = ${options.rule}`}
      group by day`.execute(db);
    for (const r of rows.rows) fetched.set(r.day, { evaluated: Number(r.evaluated), compliant: Number(r.compliant) });
  }
  const points: TrendPoint[] = [];
  for (const day of wanted) {
    let totals: Totals | undefined;
    if (day === options.latest?.day) {
      totals = { evaluated: options.latest.evaluated, compliant: options.latest.compliant };
    } else if (missing.includes(day)) {
      totals = fetched.get(day) ?? null;
      if (day < options.settledBefore) cache?.set(key(day), totals);
    } else {
      totals = cache?.get(key(day)) ?? null;
    }
    if (totals) points.push({ day, ...totals, rate: complianceRate(totals.evaluated, totals.compliant) });
  }
  return points;
}
