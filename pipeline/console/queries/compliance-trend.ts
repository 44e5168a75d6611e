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
 * (the last pass of a day wins), so a day two or more days older than the latest snapshot is settled: its totals are
 * kept here, and a board asks Postgres only for the latest two days instead of summing 90 days of rows every time.
 */
export class SettledTrendCache {
  readonly #days = new Map<string, Totals>();

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

/** Compliance per day over the last `days` days that have snapshots (all rules, or one). */
export async function loadComplianceTrend(db: Kysely<Database>, options: { days: number; rule?: string; cache?: SettledTrendCache }): Promise<TrendPoint[]> {
  const latestRow = await sql<{ day: string | null }>`select max(day)::text as day from compliance_snapshots`.execute(db);
  const latest = latestRow.rows[0]?.day;
  if (!latest) return [];
  const end = DateTime.fromISO(latest, { zone: 'utc' });
  const wanted = Array.from({ length: options.days }, (_, i) => end.minus({ days: options.days - 1 - i }).toISODate()!);
  const settledBefore = end.minus({ days: 1 }).toISODate()!;
  const key = (day: string) => `${options.rule ?? '*'}|${day}`;
  const cache = options.cache;
  cache?.prune(wanted[0]!);
  const missing = wanted.filter((day) => day >= settledBefore || cache?.get(key(day)) === undefined);
  const from = missing[0] ?? settledBefore;
  const rows = await sql<{ day: string; evaluated: number; compliant: number }>`
    select day::text as day, sum(evaluated)::int as evaluated, sum(compliant)::int as compliant
    from compliance_snapshots
    where day >= ${from}::date and day <= ${latest}::date ${options.rule === undefined ? sql`` : sql`and rule = ${options.rule}`}
    group by day`.execute(db);
  const fetched = new Map(rows.rows.map((r) => [r.day, { evaluated: Number(r.evaluated), compliant: Number(r.compliant) }]));
  const points: TrendPoint[] = [];
  for (const day of wanted) {
    let totals: Totals | undefined;
    if (day >= from) {
      totals = fetched.get(day) ?? null;
      if (day < settledBefore) cache?.set(key(day), totals);
    } else {
      totals = cache?.get(key(day)) ?? null;
    }
    if (totals) points.push({ day, ...totals, rate: complianceRate(totals.evaluated, totals.compliant) });
  }
  return points;
}
