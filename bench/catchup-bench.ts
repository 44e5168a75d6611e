/**
 * npm run bench:catchup — a backlog in Kinesis (BENCH_CATCHUP_EVENTS, default 200,000; BENCH_SHARDS, default 4)
 * consumed through Postgres, OpenSearch and the Slack notifier; beside it the naive per-event baseline
 * (BENCH_NAIVE_EVENTS, default 5,000) and a CPU profile of a smaller run (BENCH_PROFILE_EVENTS, default 50,000;
 * 0 = none). Progress on stderr; a table on stdout (`--json`: JSON).
 */
import { envInt, printPart } from './support/bench-output.ts';
import { benchCatchup } from './parts/catchup.ts';

printPart(
  await benchCatchup({
    events: envInt('BENCH_CATCHUP_EVENTS', 200_000),
    shards: envInt('BENCH_SHARDS', 4),
    naiveEvents: envInt('BENCH_NAIVE_EVENTS', 5_000),
    profileEvents: Number(process.env.BENCH_PROFILE_EVENTS ?? 50_000),
  }),
);
