import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Database } from '../../store/database-schema.ts';
import { complianceRate, NoOpenFindings } from './console-database.ts';
import type { OpenCounts } from './console-database.ts';
import type { BreakdownLine } from './organisation-board.ts';
import { loadComplianceTrend } from './compliance-trend.ts';
import type { SettledTrendCache, TrendPoint } from './compliance-trend.ts';
import { selectOpenFindings } from './open-findings.ts';
import type { OpenFinding } from './open-findings.ts';

export interface RulePage {
  readonly rule: string;
  readonly totals: OpenCounts;
  /** Where the rule is non-compliant now, with each account's rate for this rule at the latest snapshot. */
  readonly byAccount: readonly BreakdownLine[];
  readonly byRegion: readonly BreakdownLine[];
  readonly trend: readonly TrendPoint[];
  /** The open findings of the rule, soonest deadline first (at most `limit`). */
  readonly findings: readonly OpenFinding[];
}

type Dimension = 'account' | 'region' | 'total';

export async function loadRulePage(db: Kysely<Database>, rule: string, options: { now: number; trendDays: number; limit: number; accountName: (id: string) => string | undefined; settledBefore: string; trendCache?: SettledTrendCache }): Promise<RulePage> {
  const now = new Date(options.now);
  const [open, rates, trend, findings] = await Promise.all([
    sql<{ dim: Dimension; key: string | null; account_name: string | null; open: number; overdue: number; excepted: number }>`
      select
        case when grouping(account_id) = 0 then 'account' when grouping(region) = 0 then 'region' else 'total' end as dim,
        coalesce(account_id, region) as key,
        max(account_name) as account_name,
        count(*) filter (where exception_id is null)::int as open,
        count(*) filter (where exception_id is null and deadline < ${now})::int as overdue,
        count(*) filter (where exception_id is not null)::int as excepted
      from findings
      where status = 'open' and rule = ${rule}
      group by grouping sets ((account_id), (region), ())`.execute(db),
    sql<{ account_id: string; evaluated: number; compliant: number }>`
      select account_id, evaluated, compliant from compliance_snapshots
      where rule = ${rule} and day = (select max(day) from compliance_snapshots)`.execute(db),
    loadComplianceTrend(db, { days: options.trendDays, settledBefore: options.settledBefore, rule, ...(options.trendCache ? { cache: options.trendCache } : {}) }),
    selectOpenFindings(db, sql`f.status = 'open' and f.rule = ${rule}`, options.limit),
  ]);
  const counts = (r: { open: number; overdue: number; excepted: number }): OpenCounts => ({ open: Number(r.open), overdue: Number(r.overdue), excepted: Number(r.excepted) });
  const rateOf = new Map(rates.rows.map((r) => [r.account_id, { evaluated: Number(r.evaluated), compliant: Number(r.compliant) }]));
  const openAccounts = open.rows.filter((r) => r.dim === 'account');
  const accountIds = new Set([...openAccounts.map((r) => r.key ?? ''), ...rateOf.keys()]);
  const byAccount: BreakdownLine[] = [...accountIds].map((id) => {
    const o = openAccounts.find((r) => r.key === id);
    const r = rateOf.get(id);
    return {
      key: id,
      label: options.accountName(id) ?? o?.account_name ?? id,
      ...(o ? counts(o) : NoOpenFindings),
      evaluated: r?.evaluated ?? null,
      compliant: r?.compliant ?? null,
      rate: r ? complianceRate(r.evaluated, r.compliant) : null,
    };
  });
  // Non-compliant accounts first (most overdue, then most open), then by rate.
  byAccount.sort((a, b) => b.overdue - a.overdue || b.open + b.excepted - (a.open + a.excepted) || (a.rate ?? 101) - (b.rate ?? 101) || (a.key < b.key ? -1 : 1));
  const total = open.rows.find((r) => r.dim === 'total');
  return {
    rule,
    totals: total ? counts(total) : NoOpenFindings,
    byAccount,
    byRegion: open.rows
      .filter((r) => r.dim === 'region')
      .map((r) => ({ key: r.key ?? '', label: r.key ?? '', ...counts(r), evaluated: null, compliant: null, rate: null }))
      .sort((a, b) => b.open - a.open || (a.key < b.key ? -1 : 1)),
    trend,
    findings,
  };
}
