import { IndexNames } from '../../sinks/opensearch/index-names.ts';
import type { AnalystQuery } from '../analyst-query.ts';
import { HourMs, NotExcepted, left, right, round1, totalOf } from '../analyst-query.ts';

/** Open findings whose SLA deadline has passed, most overdue first: the security team's call list. */
export const PastDeadline: AnalystQuery = {
  name: 'past-deadline',
  title: 'Open findings past their deadline',
  description: 'Open findings past their SLA deadline, most overdue first (--limit rows)',
  defaultDays: null,
  totalCountsRows: true,
  columns: [
    left('severity', 'SEVERITY'),
    left('account', 'ACCOUNT'),
    left('owner', 'OWNER'),
    left('rule', 'RULE'),
    left('resource', 'RESOURCE'),
    left('deadline', 'DEADLINE'),
    right('overdueHours', 'OVERDUE H'),
    left('findingId', 'FINDING'),
  ],
  search: (context) => ({
    index: IndexNames.findings(context.indexPrefix),
    body: {
      size: context.limit,
      track_total_hits: true,
      query: {
        bool: {
          filter: [{ term: { status: 'open' } }, { range: { deadline: { lt: new Date(context.now).toISOString() } } }],
          must_not: [NotExcepted],
        },
      },
      sort: [{ deadline: 'asc' }, { findingId: 'asc' }],
      _source: ['findingId', 'severity', 'accountName', 'owner', 'rule', 'resourceType', 'resourceId', 'deadline'],
    },
  }),
  read: (response, context) => {
    const hits = ((response as { hits?: { hits?: { _source?: Record<string, unknown> }[] } } | null)?.hits?.hits ?? []).map((hit) => hit._source ?? {});
    return {
      total: totalOf(response),
      rows: hits.map((f) => {
        const deadline = Date.parse(String(f.deadline));
        return {
          severity: String(f.severity ?? ''),
          account: String(f.accountName ?? ''),
          owner: String(f.owner ?? ''),
          rule: String(f.rule ?? ''),
          resource: `${String(f.resourceType ?? '')} ${String(f.resourceId ?? '')}`,
          deadline: new Date(deadline).toISOString().slice(0, 16).replace('T', ' '),
          overdueHours: round1((context.now - deadline) / HourMs),
          findingId: String(f.findingId ?? ''),
        };
      }),
    };
  },
};
