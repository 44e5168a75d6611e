import { IndexNames } from '../../sinks/opensearch/index-names.ts';
import type { AnalystQuery } from '../analyst-query.ts';
import { DayMs, aggregationsOf, bucketsOf, countOf, left, right, round1 } from '../analyst-query.ts';

/**
 * Per UTC day of the window: in-scope evaluation results, how many were compliant / non-compliant, the compliance
 * rate among those two, and findings opened / resolved. Stale (out-of-order) results are left out: they changed nothing.
 */
export const ComplianceTrend: AnalystQuery = {
  name: 'compliance-trend',
  title: 'Daily compliance trend',
  description: 'Per day: in-scope evaluations, compliance rate, findings opened and resolved (--days, default 30)',
  defaultDays: 30,
  // One row per day: --limit keeps the most recent days.
  limitKeeps: 'last',
  defaultLimit: 1_000,
  columns: [
    left('day', 'DAY'),
    right('evaluations', 'EVALUATIONS'),
    right('compliant', 'COMPLIANT'),
    right('nonCompliant', 'NON-COMPLIANT'),
    right('compliancePct', 'COMPLIANT %'),
    right('opened', 'OPENED'),
    right('resolved', 'RESOLVED'),
  ],
  search: (context) => {
    const first = startOfUtcDay(context.now) - (context.days - 1) * DayMs;
    const from = new Date(first).toISOString();
    const to = new Date(context.now).toISOString();
    return {
      index: IndexNames.eventsPattern(context.indexPrefix),
      body: {
        size: 0,
        query: {
          bool: {
            filter: [{ range: { '@timestamp': { gte: from, lte: to } } }, { term: { inScope: true } }],
            must_not: [{ term: { transition: 'stale' } }],
          },
        },
        aggs: {
          day: {
            date_histogram: {
              field: '@timestamp',
              calendar_interval: '1d',
              time_zone: 'UTC',
              min_doc_count: 0,
              extended_bounds: { min: first, max: startOfUtcDay(context.now) },
            },
            aggs: {
              compliant: { filter: { term: { compliance: 'COMPLIANT' } } },
              nonCompliant: { filter: { term: { compliance: 'NON_COMPLIANT' } } },
              opened: { filter: { term: { transition: 'opened' } } },
              resolved: { filter: { term: { transition: 'resolved' } } },
            },
          },
        },
      },
    };
  },
  read: (response) => ({
    rows: bucketsOf(aggregationsOf(response), 'day').map((bucket) => {
      const compliant = countOf(bucket, 'compliant');
      const nonCompliant = countOf(bucket, 'nonCompliant');
      return {
        day: new Date(Number(bucket.key)).toISOString().slice(0, 10),
        evaluations: Number(bucket.doc_count),
        compliant,
        nonCompliant,
        compliancePct: compliant + nonCompliant > 0 ? round1((100 * compliant) / (compliant + nonCompliant)) : null,
        opened: countOf(bucket, 'opened'),
        resolved: countOf(bucket, 'resolved'),
      };
    }),
  }),
};

function startOfUtcDay(ms: number): number {
  return ms - (((ms % DayMs) + DayMs) % DayMs);
}
