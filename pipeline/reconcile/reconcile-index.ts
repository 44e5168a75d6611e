import type { Client } from '@opensearch-project/opensearch';
import type { ReconcileReport } from './reconciler.ts';

const Keyword = { type: 'keyword' } as const;
const Count = { type: 'integer' } as const;

/** One document per run (kind run) and one per account and rule (kind tally): dashboards trend the drift rate. */
const Mappings = {
  dynamic: false,
  properties: {
    kind: Keyword, runId: Keyword, '@timestamp': { type: 'date' }, startedAt: { type: 'date' }, accountId: Keyword, rule: Keyword,
    backfill: { type: 'boolean' }, evaluations: Count, unchanged: Count, differences: Count, opened: Count, resolved: Count, newerInStore: Count, gone: Count,
    driftRate: { type: 'double' }, accounts: Count, calls: Count, throttled: Count,
  },
} as const;

export function reconcileIndexName(prefix: string): string {
  return `${prefix}-reconcile`;
}

/**
 * Writes a finished run's figures to `<prefix>-reconcile` with deterministic ids (a re-publish overwrites). Failure
 * is the caller's to log: the run itself is committed in Postgres already.
 */
export async function publishReconcileReport(client: Client, prefix: string, report: ReconcileReport): Promise<number> {
  const index = reconcileIndexName(prefix);
  const exists = await client.indices.exists({ index });
  if (!exists.body) {
    await client.indices.create({ index, body: { mappings: Mappings } }).catch((error: unknown) => {
      // Two workers racing to create it: the other one won.
      if (!String((error as Error).message).includes('resource_already_exists_exception')) throw error;
    });
  }
  const at = report.finishedAt;
  const { totals } = report;
  const body: unknown[] = [
    { index: { _index: index, _id: report.runId } },
    {
      kind: 'run', runId: report.runId, '@timestamp': at, startedAt: report.startedAt, backfill: report.backfill, ...totals, driftRate: report.driftRate,
      accounts: report.accounts, calls: report.calls, throttled: report.throttled,
    },
  ];
  for (const t of report.tallies) {
    const compared = t.evaluations + t.gone;
    body.push({ index: { _index: index, _id: `${report.runId}|${t.accountId}|${t.rule}` } }, { kind: 'tally', runId: report.runId, '@timestamp': at, backfill: report.backfill, ...t, driftRate: compared === 0 ? 0 : t.differences / compared });
  }
  const response = await client.bulk({ body: body as never, refresh: false });
  if (response.body.errors) throw new Error('opensearch refused some reconcile documents');
  return report.tallies.length + 1;
}
