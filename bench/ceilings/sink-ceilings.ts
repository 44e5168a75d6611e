import { randomBytes } from 'node:crypto';
import { createSyntheticOrg, generateTraffic } from '../../pipeline/demo/synthetic-org.ts';
import { dropIndexPrefix } from '../../test/support/local-stack.ts';
import { ensureOpenSearch } from '../../test/support/opensearch.ts';
import { createTestDatabase } from '../../test/support/postgres.ts';
import { progress } from '../support/bench-output.ts';
import { benchGroups, startCpuAccounting } from '../support/cpu-accounting.ts';
import type { CpuAccount } from '../support/cpu-accounting.ts';
import { rawOpenSearchLoad } from './raw-opensearch-loader.ts';
import type { RawLoad } from './raw-opensearch-loader.ts';
import { rawPostgresLoad } from './raw-postgres-loader.ts';
import { trackInMemory } from './track-in-memory.ts';

export interface SinkCeilings {
  /** With the CPU each group of processes used during the load (the bench process is the loader). */
  readonly openSearch: RawLoad & { readonly cpu: CpuAccount };
  readonly postgres: RawLoad;
  /** The slower of the two: what the pipeline, which needs both, could reach at best. */
  readonly ceilingEventsPerSecond: number;
  readonly limitedBy: 'opensearch' | 'postgres';
  /**
   * Both raw loads at once, as the pipeline must write them, each into a fresh index prefix or database: what the
   * two sinks sustain together on this machine's cores (events/s = events / the longer of the two loads).
   */
  readonly together: { readonly openSearchSeconds: number; readonly postgresSeconds: number; readonly eventsPerSecond: number };
  readonly lanes: number;
  readonly batchSize: number;
}

// The consumer's defaults: DRIFTWATCH_BATCH_LIMIT and OPENSEARCH_BULK_MAX_BYTES.
const BatchSize = 2_000;
const BulkMaxBytes = 5_242_880;

/**
 * What each sink sustains alone on this machine, on the documents and rows of the same backlog as the catch-up run
 * (same org and traffic seeds): raw `_bulk` loads into OpenSearch, then raw multi-row upserts into Postgres, each with
 * one lane per shard, each into a fresh index prefix or database.
 */
export async function measureSinkCeilings(options: { readonly events: number; readonly shards: number; readonly orgSeed: number; readonly trafficSeed: number }): Promise<SinkCeilings> {
  const org = createSyntheticOrg({ accounts: 120, seed: options.orgSeed });
  const lanes = await trackInMemory(org, generateTraffic(org, { deliveries: options.events, seed: options.trafficSeed }), { lanes: options.shards, batchSize: BatchSize });
  const url = await ensureOpenSearch();
  const prefix = `dwceiling-${randomBytes(3).toString('hex')}`;
  let openSearch: SinkCeilings['openSearch'];
  try {
    progress('ceilings: raw _bulk load into OpenSearch');
    // CPU too: beside the pipeline's CPU per event, it says whether the ceiling is within the pipeline's reach here.
    const accounting = startCpuAccounting(benchGroups({ consumerPid: () => -1, databaseName: 'none' }));
    const load = await rawOpenSearchLoad(url, prefix, lanes, BulkMaxBytes);
    openSearch = { ...load, cpu: accounting.stop() };
  } finally {
    await dropIndexPrefix(url, prefix).catch(() => undefined);
  }
  const database = await createTestDatabase();
  let postgres: RawLoad;
  try {
    progress('ceilings: raw multi-row upserts into Postgres');
    postgres = await rawPostgresLoad(database.url, lanes);
  } finally {
    await database.drop().catch(() => undefined);
  }
  progress('ceilings: both raw loads at once');
  const together = await measureTogether(url, lanes);
  const limitedBy = openSearch.eventsPerSecond <= postgres.eventsPerSecond ? 'opensearch' : 'postgres';
  return {
    openSearch,
    postgres,
    ceilingEventsPerSecond: Math.min(openSearch.eventsPerSecond, postgres.eventsPerSecond),
    limitedBy,
    together,
    lanes: options.shards,
    batchSize: BatchSize,
  };
}

async function measureTogether(url: string, lanes: Parameters<typeof rawPostgresLoad>[1]): Promise<SinkCeilings['together']> {
  const prefix = `dwceiling-${randomBytes(3).toString('hex')}`;
  const database = await createTestDatabase();
  try {
    // Each load prepares (templates, connections, bodies) first; both clocks start when both are ready.
    const ready = barrier(2);
    const [openSearch, postgres] = await Promise.all([
      rawOpenSearchLoad(url, prefix, lanes, BulkMaxBytes, { ready }),
      rawPostgresLoad(database.url, lanes, { ready }),
    ]);
    const seconds = Math.max(openSearch.seconds, postgres.seconds);
    return { openSearchSeconds: openSearch.seconds, postgresSeconds: postgres.seconds, eventsPerSecond: Math.round(openSearch.events / seconds) };
  } finally {
    await dropIndexPrefix(url, prefix).catch(() => undefined);
    await database.drop().catch(() => undefined);
  }
}

/** A function that resolves for every caller once `parties` callers have called it. */
function barrier(parties: number): () => Promise<void> {
  let arrived = 0;
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return () => {
    if (++arrived >= parties) open();
    return opened;
  };
}
