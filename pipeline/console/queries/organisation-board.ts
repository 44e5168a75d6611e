import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Database } from '../../store/database-schema.ts';
import { DateTime } from 'luxon';
import { figures, loadSnapshot } from '../../report/report-builder.ts';
import { monthPeriod } from '../../report/report-month.ts';
import { rankAccounts } from '../../report/rank-accounts.ts';
import type { AccountReportLine, RankingEntry } from '../../report/monthly-report.ts';
import { firstUnsettledDay, loadComplianceTrend } from './compliance-trend.ts';
import type { SettledTrendCache, TrendPoint } from './compliance-trend.ts';
import { complianceRate, NoOpenFindings, Severities } from './console-database.ts';
import type { OpenCounts } from './console-database.ts';

/** One line of a breakdown: open findings, and the compliance rate where the snapshots have one (accounts, rules). */
export interface BreakdownLine extends OpenCounts {
  readonly key: string;
  readonly label: string;
  readonly evaluated: number | null;
  readonly compliant: number | null;
  readonly rate: number | null;
}

export type { TrendPoint };

export interface OrganisationBoard {
  readonly now: number;
  /** The latest daily snapshot (the scheduler of `run` refreshes today's every pass); null before the first. */
  readonly snapshot: { readonly day: string; readonly takenAt: Date; readonly evaluated: number; readonly compliant: number; readonly rate: number | null } | null;
  readonly trend: readonly TrendPoint[];
  readonly totals: OpenCounts;
  readonly bySeverity: readonly (OpenCounts & { readonly severity: string })[];
  readonly byAccount: readonly BreakdownLine[];
  readonly byRule: readonly BreakdownLine[];
  readonly byRegion: readonly BreakdownLine[];
  readonly byTeam: readonly BreakdownLine[];
  /** The ranking the monthly report would post for the month so far. */
  readonly ranking: { readonly month: string; readonly highest: readonly RankingEntry[]; readonly improvers: readonly RankingEntry[]; readonly lowest: readonly RankingEntry[] };
}

export interface OrganisationBoardOptions {
  readonly now: number;
  readonly timezone: string;
  readonly trendDays: number;
  readonly accountName: (accountId: string) => string | undefined;
  readonly ruleTitle: (rule: string) => string;
  readonly trendCache?: SettledTrendCache;
}

type Dimension = 'severity' | 'account' | 'region' | 'rule' | 'team' | 'total';

/** Everything the organisation board shows: five small queries, run together. */
export async function loadOrganisationBoard(db: Kysely<Database>, options: OrganisationBoardOptions): Promise<OrganisationBoard> {
  const now = new Date(options.now);
  const month = DateTime.fromMillis(options.now, { zone: options.timezone }).toFormat('yyyy-MM');
  const period = monthPeriod(month, options.timezone);
  const settledBefore = firstUnsettledDay(options.now, options.timezone);
  const [open, { latest, trend }, previous] = await Promise.all([
    // One pass over the open findings gives every breakdown (grouping sets), instead of one scan per table.
    sql<{ dim: Dimension; key: string | null; account_name: string | null; open: number; overdue: number; excepted: number }>`
      select
        case when grouping(severity) = 0 then 'severity' when grouping(account_id) = 0 then 'account'
             when grouping(region) = 0 then 'region' when grouping(rule) = 0 then 'rule'
             when grouping(owner) = 0 then 'team' else 'total' end as dim,
        coalesce(severity, account_id, region, rule, owner) as key,
        max(account_name) as account_name,
        count(*) filter (where exception_id is null)::int as open,
        count(*) filter (where exception_id is null and deadline < ${now})::int as overdue,
        count(*) filter (where exception_id is not null)::int as excepted
      from findings
      where status = 'open'
      group by grouping sets ((severity), (account_id), (region), (rule), (owner), ())`.execute(db),
    latestAndTrend(db, options, settledBefore),
    previousMonthSnapshot(db, period.previousMonth, options),
  ]);

  const counts = (row: { open: number; overdue: number; excepted: number }): OpenCounts => ({ open: Number(row.open), overdue: Number(row.overdue), excepted: Number(row.excepted) });
  const openBy = new Map<Dimension, Map<string, OpenCounts & { accountName: string | null }>>();
  for (const row of open.rows) {
    let dim = openBy.get(row.dim);
    if (!dim) openBy.set(row.dim, (dim = new Map()));
    dim.set(row.key ?? '', { ...counts(row), accountName: row.account_name });
  }
  const totals = openBy.get('total')?.get('') ?? NoOpenFindings;

  const rateBy = (pick: (row: { account_id: string; rule: string }) => string) => {
    const rates = new Map<string, { evaluated: number; compliant: number }>();
    for (const row of latest.rows) {
      const key = pick(row);
      const r = rates.get(key) ?? { evaluated: 0, compliant: 0 };
      rates.set(key, { evaluated: r.evaluated + Number(row.evaluated), compliant: r.compliant + Number(row.compliant) });
    }
    return rates;
  };
  const lines = (dim: Dimension, rates: Map<string, { evaluated: number; compliant: number }> | null, label: (key: string, accountName: string | null) => string): BreakdownLine[] => {
    const found = openBy.get(dim) ?? new Map<string, OpenCounts & { accountName: string | null }>();
    const keys = new Set([...found.keys(), ...(rates?.keys() ?? [])]);
    return [...keys].map((key) => {
      const o = found.get(key);
      const r = rates?.get(key);
      return {
        key,
        label: label(key, o?.accountName ?? null),
        ...(o ? { open: o.open, overdue: o.overdue, excepted: o.excepted } : NoOpenFindings),
        evaluated: r?.evaluated ?? null,
        compliant: r?.compliant ?? null,
        rate: r ? complianceRate(r.evaluated, r.compliant) : null,
      };
    });
  };
  // Most urgent first: overdue, then open, then the lowest rate.
  const byUrgency = (a: BreakdownLine, b: BreakdownLine) =>
    b.overdue - a.overdue || b.open - a.open || (a.rate ?? 101) - (b.rate ?? 101) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

  const first = latest.rows[0];
  const evaluated = latest.rows.reduce((n, r) => n + Number(r.evaluated), 0);
  const compliant = latest.rows.reduce((n, r) => n + Number(r.compliant), 0);
  const severities = openBy.get('severity') ?? new Map();
  return {
    now: options.now,
    snapshot: first
      ? { day: first.day, takenAt: new Date(Math.max(...latest.rows.map((r) => new Date(r.taken_at).getTime()))), evaluated, compliant, rate: complianceRate(evaluated, compliant) }
      : null,
    trend,
    totals,
    bySeverity: Severities.map((severity) => ({ severity, ...(severities.get(severity) ?? NoOpenFindings) })),
    byAccount: lines('account', rateBy((r) => r.account_id), (key, name) => options.accountName(key) ?? name ?? key).sort(byUrgency),
    byRule: lines('rule', rateBy((r) => r.rule), (key) => options.ruleTitle(key)).sort(byUrgency),
    byRegion: lines('region', null, (key) => key).sort(byUrgency),
    byTeam: lines('team', null, (key) => key).sort(byUrgency),
    ranking: liveRanking(month, period.firstDay, period.lastDay, latest.rows, previous, (id) => options.accountName(id) ?? openBy.get('account')?.get(id)?.accountName ?? id),
  };
}

/** The latest snapshot's rows, then the trend (whose last day is those rows' totals: not read twice). */
async function latestAndTrend(db: Kysely<Database>, options: OrganisationBoardOptions, settledBefore: string) {
  const latest = await sql<{ day: string; account_id: string; rule: string; evaluated: number; compliant: number; taken_at: Date }>`
      select day::text as day, account_id, rule, evaluated, compliant, taken_at
      from compliance_snapshots
      where day = (select max(day) from compliance_snapshots)`.execute(db);
  const day = latest.rows[0]?.day;
  const totals = day
    ? { day, evaluated: latest.rows.reduce((n, r) => n + Number(r.evaluated), 0), compliant: latest.rows.reduce((n, r) => n + Number(r.compliant), 0) }
    : undefined;
  const trend = await loadComplianceTrend(db, {
    days: options.trendDays,
    settledBefore,
    ...(totals ? { latest: totals } : {}),
    ...(options.trendCache ? { cache: options.trendCache } : {}),
  });
  return { latest, trend };
}

/** The previous month's last snapshot per account; kept once no scheduler pass can change it any more (two days on). */
async function previousMonthSnapshot(db: Kysely<Database>, month: string, options: OrganisationBoardOptions): Promise<ReadonlyMap<string, { evaluated: number; compliant: number }>> {
  const cached = options.trendCache?.month(month);
  if (cached) return cached;
  const previous = monthPeriod(month, options.timezone);
  const { accounts } = await loadSnapshot(db, previous);
  const settled = DateTime.fromMillis(options.now, { zone: options.timezone }).minus({ days: 2 }).toISODate()!;
  if (previous.lastDay <= settled) options.trendCache?.setMonth(month, accounts);
  return accounts;
}

/**
 * The ranking the monthly report would post if the month ended now: the report's own rate, change and ranking rules
 * (report-builder's figures, rank-accounts), fed with this month's latest snapshot and the previous month's last.
 */
function liveRanking(
  month: string,
  firstDay: string,
  lastDay: string,
  latest: readonly { day: string; account_id: string; evaluated: number; compliant: number }[],
  previous: ReadonlyMap<string, { evaluated: number; compliant: number }>,
  accountName: (accountId: string) => string,
): OrganisationBoard['ranking'] {
  const current = new Map<string, { evaluated: number; compliant: number }>();
  for (const row of latest) {
    if (row.day < firstDay || row.day > lastDay) continue;
    const c = current.get(row.account_id) ?? { evaluated: 0, compliant: 0 };
    current.set(row.account_id, { evaluated: c.evaluated + Number(row.evaluated), compliant: c.compliant + Number(row.compliant) });
  }
  // The ranking reads rates and changes only; the report's finding figures stay zero here.
  const lines: Omit<AccountReportLine, 'rank'>[] = [...current].map(([accountId, c]) => ({
    accountId,
    accountName: accountName(accountId),
    ...figures({ ...c, openCritical: 0, openHigh: 0, excepted: 0, slaBreaches: 0, resolved: 0, resolveMsSum: 0 }, previous.get(accountId) ?? null),
  }));
  const ranked = rankAccounts(lines, 3);
  const entry = (line: Omit<AccountReportLine, 'rank'>): RankingEntry => ({ accountId: line.accountId, accountName: line.accountName, complianceRate: line.complianceRate, change: line.change });
  return { month, highest: ranked.highest.map(entry), improvers: ranked.improvers.map(entry), lowest: ranked.lowest.map(entry) };
}
