import type { AnalystQuery } from '../analyst-query.ts';
import { DayMs, bucketRows, countOf, findingsAggregation, left, right, round1, valueOf } from '../analyst-query.ts';

/** Mean time to resolve (hours) of findings resolved in the window, grouped by `field`, slowest first. */
export function meanTimeToResolve(options: { name: string; field: 'rule' | 'owner'; column: string; title: string; description: string }): AnalystQuery {
  return {
    name: options.name,
    title: options.title,
    description: options.description,
    defaultDays: 90,
    columns: [
      left(options.field, options.column),
      right('resolved', 'RESOLVED'),
      right('meanHours', 'MEAN H'),
      right('maxHours', 'MAX H'),
      right('breached', 'AFTER DEADLINE'),
    ],
    search: findingsAggregation((context) => ({
      query: {
        bool: {
          filter: [
            { term: { status: 'resolved' } },
            { range: { resolvedAt: { gte: new Date(context.now - context.days * DayMs).toISOString(), lte: new Date(context.now).toISOString() } } },
          ],
        },
      },
      aggs: {
        group: {
          terms: { field: options.field, size: context.limit, order: [{ mean: 'desc' }, { _key: 'asc' }] },
          aggs: {
            mean: { avg: { field: 'timeToResolveHours' } },
            max: { max: { field: 'timeToResolveHours' } },
            breached: { filter: { term: { breached: true } } },
          },
        },
      },
    })),
    read: bucketRows('group', (bucket) => {
      const mean = valueOf(bucket, 'mean');
      const max = valueOf(bucket, 'max');
      return {
        [options.field]: String(bucket.key),
        resolved: Number(bucket.doc_count),
        meanHours: mean === null ? null : round1(mean),
        maxHours: max === null ? null : round1(max),
        breached: countOf(bucket, 'breached'),
      };
    }),
  };
}

export const MeanTimeToResolveByRule = meanTimeToResolve({
  name: 'mttr-by-rule',
  field: 'rule',
  column: 'RULE',
  title: 'Mean time to resolve by rule',
  description: 'Mean and max hours to resolve by rule, findings resolved in the last --days (default 90)',
});

export const MeanTimeToResolveByTeam = meanTimeToResolve({
  name: 'mttr-by-team',
  field: 'owner',
  column: 'TEAM',
  title: 'Mean time to resolve by team',
  description: 'Mean and max hours to resolve by owning team, findings resolved in the last --days (default 90)',
});
