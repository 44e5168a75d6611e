import type { AnalystQuery } from '../analyst-query.ts';
import { OpenNotExcepted, bucketRows, bucketsOf, findingsAggregation, left, right } from '../analyst-query.ts';

/** What is open right now, by severity (most urgent first) and account. */
export const OpenBySeverity: AnalystQuery = {
  name: 'open-by-severity',
  title: 'Open findings by severity and account',
  description: 'Open findings by severity (most urgent first) and account; risk exceptions left out',
  defaultDays: null,
  columns: [
    left('severity', 'SEVERITY'),
    left('account', 'ACCOUNT'),
    left('accountId', 'ACCOUNT ID'),
    left('owner', 'OWNER'),
    right('open', 'OPEN'),
  ],
  search: findingsAggregation((context) => ({
    query: OpenNotExcepted,
    aggs: {
      severity: {
        terms: { field: 'severity', size: 10, order: [{ rank: 'desc' }, { _key: 'asc' }] },
        aggs: {
          rank: { max: { field: 'severityRank' } },
          account: {
            terms: { field: 'accountName', size: context.limit, order: [{ _count: 'desc' }, { _key: 'asc' }] },
            aggs: { accountId: { terms: { field: 'accountId', size: 1 } }, owner: { terms: { field: 'owner', size: 1 } } },
          },
        },
      },
    },
  })),
  read: bucketRows('severity', (severity) =>
    bucketsOf(severity, 'account').map((account) => ({
      severity: String(severity.key),
      account: String(account.key),
      accountId: String(bucketsOf(account, 'accountId')[0]?.key ?? ''),
      owner: String(bucketsOf(account, 'owner')[0]?.key ?? ''),
      open: Number(account.doc_count),
    })),
  ),
};
