import { IndexNames } from '../../sinks/opensearch/index-names.ts';
import type { AnalystQuery } from '../analyst-query.ts';
import { OpenNotExcepted, aggregationsOf, bucketsOf, totalOf } from '../analyst-query.ts';

/** What is open right now, by severity (most urgent first) and account. */
export const OpenBySeverity: AnalystQuery = {
  name: 'open-by-severity',
  title: 'Open findings by severity and account',
  description: 'Open findings by severity (most urgent first) and account; risk exceptions left out',
  defaultDays: null,
  columns: [
    { key: 'severity', title: 'SEVERITY', align: 'left' },
    { key: 'account', title: 'ACCOUNT', align: 'left' },
    { key: 'accountId', title: 'ACCOUNT ID', align: 'left' },
    { key: 'owner', title: 'OWNER', align: 'left' },
    { key: 'open', title: 'OPEN', align: 'right' },
  ],
  search: (context) => ({
    index: IndexNames.findings(context.indexPrefix),
    body: {
      size: 0,
      track_total_hits: true,
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
    },
  }),
  read: (response) => ({
    total: totalOf(response),
    rows: bucketsOf(aggregationsOf(response), 'severity').flatMap((severity) =>
      bucketsOf(severity, 'account').map((account) => ({
        severity: String(severity.key),
        account: String(account.key),
        accountId: String(bucketsOf(account, 'accountId')[0]?.key ?? ''),
        owner: String(bucketsOf(account, 'owner')[0]?.key ?? ''),
        open: Number(account.doc_count),
      })),
    ),
  }),
};
