/**
 * npm run bench:memory — peak RSS of `driftwatch run --until-caught-up` (a child process, sampled from
 * /proc/<pid>/status) while it consumes a backlog of BENCH_MEMORY_EVENTS (default 1,000,000) records in
 * BENCH_SHARDS (default 4) shards through every sink; then again over the same backlog with a heap limit of
 * BENCH_MEMORY_HEAP_MB (default 256; 0 = skip), as a container would set. Progress on stderr; a table on stdout.
 */
import { envInt, printPart } from './support/bench-output.ts';
import { benchMemory } from './parts/memory.ts';

printPart(
  await benchMemory({
    events: envInt('BENCH_MEMORY_EVENTS', 1_000_000),
    shards: envInt('BENCH_SHARDS', 4),
    heapMiB: Number(process.env.BENCH_MEMORY_HEAP_MB ?? 256),
  }),
);
