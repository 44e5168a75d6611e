/**
 * npm run bench:latency — a steady BENCH_LATENCY_RATE (default 500) events/s for BENCH_LATENCY_SECONDS (default 60)
 * into a running `driftwatch run`: p50/p95/p99 from PutRecords to the Postgres commit, to the document being
 * searchable in OpenSearch, and to the Slack post. Progress on stderr; a table on stdout (`--json`: JSON).
 */
import { envInt, printPart } from './support/bench-output.ts';
import { benchLatency } from './parts/latency.ts';

printPart(
  await benchLatency({
    eventsPerSecond: envInt('BENCH_LATENCY_RATE', 500),
    seconds: envInt('BENCH_LATENCY_SECONDS', 60),
    warmupSeconds: envInt('BENCH_LATENCY_WARMUP_SECONDS', 5),
    shards: envInt('BENCH_SHARDS', 4),
  }),
);
