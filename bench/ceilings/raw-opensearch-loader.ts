import { Client } from '@opensearch-project/opensearch';
import { buildBulkRequests } from '../../pipeline/sinks/opensearch/bulk-request.ts';
import { installOpenSearchIndices } from '../../pipeline/sinks/opensearch/install-opensearch-indices.ts';
import type { TrackedEvent } from '../../stages/track/tracked-event.ts';

/** When a load may start its clock: loads run together wait for one another, so both clocks cover the same time. */
export interface LoadStart {
  readonly ready?: () => Promise<void>;
}

export interface RawLoad {
  readonly events: number;
  readonly seconds: number;
  readonly eventsPerSecond: number;
}

/**
 * What OpenSearch sustains alone: the documents the sink writes for these tracked events (its own `_bulk` bodies, at
 * its default request size), POSTed with plain fetch, one lane per shard in parallel, into a fresh index prefix
 * with the product's templates. Every item must be stored (409: a newer finding version is, as the sink counts it).
 */
export async function rawOpenSearchLoad(
  url: string,
  indexPrefix: string,
  lanes: readonly (readonly TrackedEvent[][])[],
  maxBytes: number,
  options: LoadStart = {},
): Promise<RawLoad> {
  const client = new Client({ node: url });
  try {
    await installOpenSearchIndices(client, {
      OPENSEARCH_INDEX_PREFIX: indexPrefix,
      OPENSEARCH_RETENTION_DAYS: 400,
      OPENSEARCH_REPLICAS: undefined,
      OPENSEARCH_USERNAME: undefined,
      OPENSEARCH_PASSWORD: undefined,
    });
  } finally {
    await client.close();
  }
  // Bodies are built before the clock starts: this measures OpenSearch, not JSON.stringify.
  const bodies = lanes.map((batches) => batches.flatMap((batch) => buildBulkRequests(batch, { indexPrefix, maxBytes }).map((request) => request.body)));
  const events = lanes.reduce((sum, batches) => sum + batches.reduce((n, batch) => n + batch.length, 0), 0);
  await options.ready?.();
  const started = performance.now();
  await Promise.all(
    bodies.map(async (lane) => {
      for (const body of lane) {
        const response = await fetch(`${url}/_bulk?filter_path=errors,items.*.status`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
        const result = (await response.json()) as { errors?: boolean; items?: Record<string, { status: number }>[] };
        if (!response.ok) throw new Error(`raw _bulk answered ${response.status}`);
        const failed = result.errors ? (result.items ?? []).flatMap((item) => Object.values(item)).filter((r) => r.status >= 300 && r.status !== 409) : [];
        if (failed.length > 0) throw new Error(`raw _bulk: ${failed.length} items failed (first status ${failed[0]!.status})`);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1_000;
  return { events, seconds: Number(seconds.toFixed(2)), eventsPerSecond: Math.round(events / seconds) };
}
