/** What one run found and did for one account and rule. */
export interface ReconcileTally {
  readonly accountId: string;
  readonly rule: string;
  /** Results the aggregator reported. */
  evaluations: number;
  /** Stored state already agreed. */
  unchanged: number;
  /** Results the stream had missed (fed through the stages), plus stored evaluations Config no longer reports. */
  differences: number;
  opened: number;
  resolved: number;
  /** The store had a newer result than the aggregator's answer: the store wins (never moved back). */
  newerInStore: number;
  /** Stored evaluations Config no longer reports (resolved as DELETED). */
  gone: number;
}

export function emptyTally(accountId: string, rule: string): ReconcileTally {
  return { accountId, rule, evaluations: 0, unchanged: 0, differences: 0, opened: 0, resolved: 0, newerInStore: 0, gone: 0 };
}

export type TallyTotals = Omit<ReconcileTally, 'accountId' | 'rule'>;

export function totalsOf(tallies: Iterable<ReconcileTally>): TallyTotals {
  const total = emptyTally('', '');
  for (const t of tallies) {
    total.evaluations += t.evaluations;
    total.unchanged += t.unchanged;
    total.differences += t.differences;
    total.opened += t.opened;
    total.resolved += t.resolved;
    total.newerInStore += t.newerInStore;
    total.gone += t.gone;
  }
  const { accountId: _a, rule: _r, ...totals } = total;
  return totals;
}

/** differences ÷ everything compared (the aggregator's results and the stored ones it no longer reports). */
export function driftRate(t: TallyTotals): number {
  const compared = t.evaluations + t.gone;
  return compared === 0 ? 0 : t.differences / compared;
}
