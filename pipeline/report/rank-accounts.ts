import type { AccountReportLine } from './monthly-report.ts';

type Unranked = Omit<AccountReportLine, 'rank'>;

export interface Ranking {
  /** Every account: ranked ones by rate (best first, ties by id), then those without a rate by id. */
  readonly lines: AccountReportLine[];
  readonly highest: Unranked[];
  readonly improvers: Unranked[];
  readonly lowest: Unranked[];
}

/**
 * Ranks accounts by compliance rate (equal rates share a rank: 1, 2, 2, 4), praises the `top` highest and the `top`
 * biggest improvers (positive change only), and names the `top` lowest below 100% that are not among the highest.
 */
export function rankAccounts(accounts: readonly Unranked[], top: number): Ranking {
  const byId = (a: Unranked, b: Unranked) => (a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0);
  const rated = accounts.filter((a) => a.complianceRate !== null).sort((a, b) => b.complianceRate! - a.complianceRate! || byId(a, b));
  const unrated = accounts.filter((a) => a.complianceRate === null).sort(byId);
  const lines: AccountReportLine[] = [];
  let rank = 0;
  rated.forEach((account, i) => {
    if (i === 0 || account.complianceRate !== rated[i - 1]!.complianceRate) rank = i + 1;
    lines.push({ rank, ...account });
  });
  for (const account of unrated) lines.push({ rank: null, ...account });
  const highest = rated.slice(0, top);
  const improvers = rated
    .filter((a) => a.change !== null && a.change > 0)
    .sort((a, b) => b.change! - a.change! || byId(a, b))
    .slice(0, top);
  const praised = new Set(highest.map((a) => a.accountId));
  const lowest = rated
    .filter((a) => !praised.has(a.accountId) && a.complianceRate! < 100)
    .sort((a, b) => a.complianceRate! - b.complianceRate! || byId(a, b))
    .slice(0, top);
  return { lines, highest, improvers, lowest };
}
