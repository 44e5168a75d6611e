/**
 * npm run bench:stages — in-memory throughput of decode+validate+dedupe+enrich+scope+track, beside the raw
 * base64 + JSON.parse rate measured in the same run on the same records. One core (this process's main thread).
 * Sizes: BENCH_EVENTS (default 100,000), BENCH_ROUNDS (default 5). `--json` prints JSON.
 */
import { envInt } from './support/bench-output.ts';
import { formatStages, measureStages } from './stages/measure-stages.ts';

const result = await measureStages({ events: envInt('BENCH_EVENTS', 100_000), rounds: envInt('BENCH_ROUNDS', 5) });
process.stdout.write(process.argv.includes('--json') ? `${JSON.stringify(result, null, 2)}\n` : formatStages(result));
