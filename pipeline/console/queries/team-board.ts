import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Database } from '../../store/database-schema.ts';
import { NoOpenFindings, Severities } from './console-database.ts';
import type { OpenCounts } from './console-database.ts';
import { selectOpenFindings } from './open-findings.ts';
import type { OpenFinding } from './open-findings.ts';

/** The filters of the operators' board; each is a query parameter, so a filtered board has a URL to share. */
export interface TeamFilters {
  readonly account?: string;
  readonly rule?: string;
  readonly severity?: string;
}

export interface Facet {
  readonly key: string;
  readonly label: string;
  readonly count: number;
}

export interface TeamBoard {
  readonly owner: string;
  readonly filters: TeamFilters;
  /** Every open finding of the team, unfiltered. */
  readonly totals: OpenCounts;
  readonly bySeverity: readonly (OpenCounts & { readonly severity: string })[];
  /** Values the filters can take (the team's open findings), with counts. */
  readonly facets: { readonly accounts: readonly Facet[]; readonly rules: readonly Facet[]; readonly severities: readonly Facet[] };
  /** Findings matching the filters; `rows` is one page of them, soonest deadline first. */
  readonly matching: number;
  readonly page: number;
  readonly pageSize: number;
  readonly rows: readonly OpenFinding[];
}

type Dimension = 'account' | 'rule' | 'severity' | 'total';

export async function loadTeamBoard(db: Kysely<Database>, owner: string, filters: TeamFilters, page: number, pageSize: number, now: number): Promise<TeamBoard> {
  const at = new Date(now);
  const where = [sql`f.status = 'open'`, sql`f.owner = ${owner}`];
  if (filters.account) where.push(sql`f.account_id = ${filters.account}`);
  if (filters.rule) where.push(sql`f.rule = ${filters.rule}`);
  if (filters.severity) where.push(sql`f.severity = ${filters.severity}`);
  const condition = sql.join(where, sql` and `);
  const filtered = where.length > 2;
  const [facets, matching, rows] = await Promise.all([
    sql<{ dim: Dimension; key: string | null; label: string | null; open: number; overdue: number; excepted: number }>`
      select
        case when grouping(account_id) = 0 then 'account' when grouping(rule) = 0 then 'rule'
             when grouping(severity) = 0 then 'severity' else 'total' end as dim,
        coalesce(account_id, rule, severity) as key,
        case when grouping(account_id) = 0 then max(account_name) when grouping(rule) = 0 then max(rule_title) end as label,
        count(*) filter (where exception_id is null)::int as open,
        count(*) filter (where exception_id is null and deadline < ${at})::int as overdue,
        count(*) filter (where exception_id is not null)::int as excepted
      from findings f
      where f.status = 'open' and f.owner = ${owner}
      group by grouping sets ((account_id), (rule), (severity), ())`.execute(db),
    filtered ? sql<{ n: number }>`select count(*)::int as n from findings f where ${condition}`.execute(db) : null,
    selectOpenFindings(db, condition, pageSize, (page - 1) * pageSize),
  ]);

  const by = (dim: Dimension) => facets.rows.filter((r) => r.dim === dim);
  const count = (r: { open: number; excepted: number }) => Number(r.open) + Number(r.excepted);
  const totalRow = by('total')[0];
  const totals: OpenCounts = totalRow ? { open: Number(totalRow.open), overdue: Number(totalRow.overdue), excepted: Number(totalRow.excepted) } : NoOpenFindings;
  const severityRows = new Map(by('severity').map((r) => [r.key ?? '', r]));
  const facet = (dim: Dimension): Facet[] =>
    by(dim)
      .map((r) => ({ key: r.key ?? '', label: r.label ?? r.key ?? '', count: count(r) }))
      .sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
  return {
    owner,
    filters,
    totals,
    bySeverity: Severities.map((severity) => {
      const r = severityRows.get(severity);
      return { severity, ...(r ? { open: Number(r.open), overdue: Number(r.overdue), excepted: Number(r.excepted) } : NoOpenFindings) };
    }),
    facets: {
      accounts: facet('account'),
      rules: facet('rule'),
      severities: Severities.filter((s) => severityRows.has(s)).map((s) => ({ key: s, label: s, count: count(severityRows.get(s)!) })),
    },
    matching: matching ? Number(matching.rows[0]?.n ?? 0) : totals.open + totals.excepted,
    page,
    pageSize,
    rows,
  };
}
