import type { AnalystQuery } from '../analyst-query.ts';
import { OpenNotExcepted, bucketRows, countOf, findingsAggregation, left, right } from '../analyst-query.ts';

/** Resource types with the most open findings: where a platform fix (a module, a guardrail) pays off most. */
export const WorstResourceTypes: AnalystQuery = {
  name: 'worst-resource-types',
  title: 'Resource types with the most open findings',
  description: 'Resource types with the most open findings, with Critical+High, past-deadline and account counts',
  defaultDays: null,
  columns: [
    left('resourceType', 'RESOURCE TYPE'),
    right('open', 'OPEN'),
    right('criticalHigh', 'CRITICAL+HIGH'),
    right('pastDeadline', 'PAST DEADLINE'),
    right('accounts', 'ACCOUNTS'),
  ],
  search: findingsAggregation((context) => ({
    query: OpenNotExcepted,
    aggs: {
      type: {
        terms: { field: 'resourceType', size: context.limit, order: [{ _count: 'desc' }, { _key: 'asc' }] },
        aggs: {
          criticalHigh: { filter: { terms: { severity: ['Critical', 'High'] } } },
          pastDeadline: { filter: { range: { deadline: { lt: new Date(context.now).toISOString() } } } },
          // Exact below 3,000 distinct accounts (precision_threshold), which covers the estates we design for.
          accounts: { cardinality: { field: 'accountId', precision_threshold: 3_000 } },
        },
      },
    },
  })),
  read: bucketRows('type', (bucket) => ({
    resourceType: String(bucket.key),
    open: Number(bucket.doc_count),
    criticalHigh: countOf(bucket, 'criticalHigh'),
    pastDeadline: countOf(bucket, 'pastDeadline'),
    accounts: countOf(bucket, 'accounts'),
  })),
};
