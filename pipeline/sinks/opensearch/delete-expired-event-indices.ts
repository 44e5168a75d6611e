import type { Client } from '@opensearch-project/opensearch';
import { callOpenSearch } from './call-opensearch.ts';
import { IndexNames } from './index-names.ts';
import type { Redact } from './secret-redactor.ts';

export interface RetentionOptions {
  readonly indexPrefix: string;
  readonly retentionDays: number;
  /** Epoch ms; injected so tests and dry runs are deterministic. */
  readonly now: number;
  readonly dryRun?: boolean;
  readonly redact?: Redact;
}

export interface RetentionResult {
  readonly deleted: readonly string[];
  readonly kept: readonly string[];
}

const DayMs = 86_400_000;

/**
 * Retention without ISM: deletes each monthly event index whose newest possible event (the end of its month) is
 * older than `retentionDays`. Run it from a schedule (`driftwatch opensearch-retention`); harmless next to ISM.
 */
export async function deleteExpiredEventIndices(client: Client, options: RetentionOptions): Promise<RetentionResult> {
  const redact = options.redact ?? ((text: string) => text);
  const listed = await callOpenSearch(
    client,
    { method: 'GET', path: `/_cat/indices/${IndexNames.eventsPattern(options.indexPrefix)}`, querystring: { format: 'json', h: 'index', expand_wildcards: 'all' } },
    redact,
    'list event indices',
  );
  const deleted: string[] = [];
  const kept: string[] = [];
  const names = ((listed.body as { index?: string }[] | null) ?? []).map((row) => row.index ?? '').sort();
  for (const index of names) {
    const monthStart = IndexNames.monthStartOf(options.indexPrefix, index);
    if (monthStart === null) continue;
    const start = new Date(monthStart);
    const monthEnd = Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1);
    if (monthEnd + options.retentionDays * DayMs <= options.now) {
      if (!options.dryRun) {
        await callOpenSearch(client, { method: 'DELETE', path: `/${index}`, ignore: [404] }, redact, `delete index ${index}`);
      }
      deleted.push(index);
    } else {
      kept.push(index);
    }
  }
  return { deleted, kept };
}
