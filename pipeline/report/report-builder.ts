import { sql } from 'kysely';
import type { Kysely, RawBuilder } from 'kysely';
import type { Database } from '../store/database-schema.ts';
import { exceptionActiveAt, exceptionCoversFinding } from '../exceptions/exception-matching.ts';
import { MonthlyReport } from './monthly-report.ts';
import type { AccountReportLine, RankingEntry, ReportFigures } from './monthly-report.ts';
import { monthPeriod } from './report-month.ts';
import type { MonthPeriod } from './report-month.ts';
import { rankAccounts } from './rank-accounts.ts';

export interface ReportOptions {
  /** YYYY-MM */
  readonly month: string;
  /** The SLA calendar's timezone: months and snapshot days are local to it. */
  readonly timezone: string;
  /** Breaches are counted only for deadlines already past (matters for the current month). */
  readonly now: number;
  /** Account names from the registry; unknown ids fall back to the name findings carry, then the id. */
  readonly accountName?: (accountId: string) => string | undefined;
  /** How many accounts the ranking praises, and names at the bottom. */
  readonly top?: number;
}

export interface Counts {
  evaluated: number;
  compliant: number;
  openCritical: number;
  openHigh: number;
  excepted: number;
  slaBreaches: number;
  resolved: number;
  resolveMsSum: number;
}

/** Builds the monthly report from compliance snapshots (rates) and the findings history (everything else). */
export async function buildMonthlyReport(db: Kysely<Database>, options: ReportOptions): Promise<MonthlyReport> {
  const period = monthPeriod(options.month, options.timezone);
  const previous = monthPeriod(period.previousMonth, options.timezone);
  const [current, before, findings, names] = await Promise.all([
    loadSnapshot(db, period),
    loadSnapshot(db, previous),
    loadFindingFigures(db, period, options.now),
    loadFindingNames(db),
  ]);
  const accounts = new Map<string, Counts>();
  const counts = (id: string): Counts => {
    let c = accounts.get(id);
    if (!c) accounts.set(id, (c = { evaluated: 0, compliant: 0, openCritical: 0, openHigh: 0, excepted: 0, slaBreaches: 0, resolved: 0, resolveMsSum: 0 }));
    return c;
  };
  for (const [id, row] of current.accounts) Object.assign(counts(id), row);
  for (const [id, row] of findings) Object.assign(counts(id), row);

  const lines: Omit<AccountReportLine, 'rank'>[] = [];
  for (const [accountId, c] of accounts) {
    const prior = before.accounts.get(accountId);
    lines.push({
      accountId,
      accountName: options.accountName?.(accountId) ?? names.get(accountId) ?? accountId,
      ...figures(c, prior ?? null),
    });
  }
  const total = <C>(pick: (c: C) => number, from: Iterable<C>): number => [...from].reduce((sum, c) => sum + pick(c), 0);
  const all = [...accounts.values()];
  const totals = figures(
    {
      evaluated: total((c) => c.evaluated, all),
      compliant: total((c) => c.compliant, all),
      openCritical: total((c) => c.openCritical, all),
      openHigh: total((c) => c.openHigh, all),
      excepted: total((c) => c.excepted, all),
      slaBreaches: total((c) => c.slaBreaches, all),
      resolved: total((c) => c.resolved, all),
      resolveMsSum: total((c) => c.resolveMsSum, all),
    },
    before.accounts.size > 0
      ? { evaluated: total((c) => c.evaluated, before.accounts.values()), compliant: total((c) => c.compliant, before.accounts.values()) }
      : null,
  );
  const ranked = rankAccounts(lines, options.top ?? 3);
  const entry = (line: Omit<AccountReportLine, 'rank'>): RankingEntry => ({
    accountId: line.accountId,
    accountName: line.accountName,
    complianceRate: line.complianceRate,
    change: line.change,
  });
  return MonthlyReport.parse({
    schemaVersion: 1,
    month: period.month,
    timezone: options.timezone,
    periodStart: new Date(period.start).toISOString(),
    periodEnd: new Date(period.end).toISOString(),
    snapshotDay: current.day,
    previousSnapshotDay: before.day,
    totals,
    accounts: ranked.lines,
    ranking: { highest: ranked.highest.map(entry), improvers: ranked.improvers.map(entry), lowest: ranked.lowest.map(entry) },
  });
}

export function figures(c: Counts, prior: { evaluated: number; compliant: number } | null): ReportFigures {
  const rate = c.evaluated > 0 ? (100 * c.compliant) / c.evaluated : null;
  const previousRate = prior && prior.evaluated > 0 ? (100 * prior.compliant) / prior.evaluated : null;
  return {
    evaluated: c.evaluated,
    compliant: c.compliant,
    complianceRate: round2(rate),
    previousComplianceRate: round2(previousRate),
    change: rate !== null && previousRate !== null ? round2(rate - previousRate) : null,
    openCritical: c.openCritical,
    openHigh: c.openHigh,
    excepted: c.excepted,
    slaBreaches: c.slaBreaches,
    resolved: c.resolved,
    meanTimeToResolveHours: c.resolved > 0 ? round2(c.resolveMsSum / c.resolved / 3_600_000) : null,
  };
}

export function round2(value: number | null): number | null {
  if (value === null) return null;
  const rounded = Math.round((value + Math.sign(value) * Number.EPSILON) * 100) / 100;
  return Object.is(rounded, -0) ? 0 : rounded;
}

/** Per account, the month's last snapshot day (the month-end state); an account absent that day has no rate. */
export async function loadSnapshot(db: Kysely<Database>, period: MonthPeriod): Promise<{ day: string | null; accounts: Map<string, { evaluated: number; compliant: number }> }> {
  const rows = await sql<{ day: string; account_id: string; evaluated: number; compliant: number }>`
    select s.day::text as day, s.account_id, sum(s.evaluated)::int as evaluated, sum(s.compliant)::int as compliant
    from compliance_snapshots s
    where s.day = (select max(day) from compliance_snapshots where day between ${period.firstDay}::date and ${period.lastDay}::date)
    group by s.day, s.account_id`.execute(db);
  const accounts = new Map(rows.rows.map((r) => [r.account_id, { evaluated: Number(r.evaluated), compliant: Number(r.compliant) }]));
  return { day: rows.rows[0]?.day ?? null, accounts };
}

async function loadFindingFigures(db: Kysely<Database>, period: MonthPeriod, now: number): Promise<Map<string, Partial<Counts>>> {
  const start = new Date(period.start);
  const end = new Date(period.end);
  const breachCutoff = new Date(Math.min(period.end, now));
  const coveredAt = (at: Date | RawBuilder<unknown>) =>
    sql<boolean>`exists (select 1 from risk_exceptions e where ${exceptionCoversFinding('e', 'f')} and ${exceptionActiveAt('e', at)})`;
  const [open, breaches, resolved] = await Promise.all([
    sql<{ account_id: string; severity: string; excepted: boolean; n: number }>`
      select account_id, severity, excepted, count(*)::int as n from (
        select f.account_id, f.severity, ${coveredAt(end)} as excepted
        from findings f
        where f.opened_at < ${end} and (f.resolved_at is null or f.resolved_at >= ${end})
      ) o group by account_id, severity, excepted`.execute(db),
    sql<{ account_id: string; n: number }>`
      select f.account_id, count(*)::int as n
      from findings f
      where f.deadline >= ${start} and f.deadline < ${breachCutoff}
        and (f.resolved_at is null or f.resolved_at > f.deadline)
        and not ${coveredAt(sql.ref('f.deadline'))}
      group by f.account_id`.execute(db),
    sql<{ account_id: string; n: number; ms: string }>`
      select f.account_id, count(*)::int as n, sum(extract(epoch from (f.resolved_at - f.opened_at)) * 1000)::text as ms
      from findings f
      where f.resolved_at >= ${start} and f.resolved_at < ${end}
      group by f.account_id`.execute(db),
  ]);
  const figures = new Map<string, Partial<Counts>>();
  const at = (id: string): Partial<Counts> => {
    let f = figures.get(id);
    if (!f) figures.set(id, (f = {}));
    return f;
  };
  for (const row of open.rows) {
    const f = at(row.account_id);
    const n = Number(row.n);
    if (row.excepted) f.excepted = (f.excepted ?? 0) + n;
    else if (row.severity === 'Critical') f.openCritical = (f.openCritical ?? 0) + n;
    else if (row.severity === 'High') f.openHigh = (f.openHigh ?? 0) + n;
  }
  for (const row of breaches.rows) at(row.account_id).slaBreaches = Number(row.n);
  for (const row of resolved.rows) {
    const f = at(row.account_id);
    f.resolved = Number(row.n);
    f.resolveMsSum = Number(row.ms);
  }
  // Accounts whose only finding activity is a Medium/Low open finding still appear (with zero figures).
  return figures;
}

async function loadFindingNames(db: Kysely<Database>): Promise<Map<string, string>> {
  const rows = await sql<{ account_id: string; account_name: string }>`
    select distinct on (account_id) account_id, account_name from findings order by account_id, opened_at desc`.execute(db);
  return new Map(rows.rows.map((r) => [r.account_id, r.account_name]));
}
