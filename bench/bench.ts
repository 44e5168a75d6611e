/**
 * npm run bench — every benchmark in one run, one report: stages in memory, catch-up (with the naive baseline and a
 * CPU profile), latency at a steady rate, memory on a large backlog. Writes bench/results/bench-<time>.md and .json
 * (gitignored) and prints the Markdown (`--json`: the JSON). Sizes: see bench:stages, bench:catchup, bench:latency,
 * bench:memory; BENCH_PARTS=stages,catchup,latency,memory picks some.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { JsonOutput, envInt, formatNumber, progress } from './support/bench-output.ts';
import type { BenchPart } from './support/bench-output.ts';
import { benchStages } from './parts/stages.ts';
import { benchCatchup } from './parts/catchup.ts';
import { benchLatency } from './parts/latency.ts';
import { benchMemory } from './parts/memory.ts';

const parts = new Set((process.env.BENCH_PARTS ?? 'stages,catchup,latency,memory').split(',').map((s) => s.trim()));
const shards = envInt('BENCH_SHARDS', 4);
const startedAt = new Date();
const machine = { node: process.version, cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), loadAverageAtStart: loadavg().map((l) => Number(l.toFixed(2))) };
const done: BenchPart<unknown>[] = [];

async function part(name: string, run: () => Promise<BenchPart<unknown>>): Promise<void> {
  if (!parts.has(name)) return;
  const result = await run();
  done.push(result);
  process.stderr.write(`\n${result.markdown}\n\n`);
}

await part('stages', () => benchStages({ events: envInt('BENCH_EVENTS', 100_000), rounds: envInt('BENCH_ROUNDS', 5) }));
await part('catchup', () =>
  benchCatchup({
    events: envInt('BENCH_CATCHUP_EVENTS', 200_000),
    shards,
    naiveEvents: envInt('BENCH_NAIVE_EVENTS', 5_000),
    profileEvents: Number(process.env.BENCH_PROFILE_EVENTS ?? 50_000),
  }),
);
await part('latency', () =>
  benchLatency({
    eventsPerSecond: envInt('BENCH_LATENCY_RATE', 500),
    seconds: envInt('BENCH_LATENCY_SECONDS', 60),
    warmupSeconds: envInt('BENCH_LATENCY_WARMUP_SECONDS', 5),
    shards,
  }),
);
await part('memory', () => benchMemory({ events: envInt('BENCH_MEMORY_EVENTS', 1_000_000), shards, heapMiB: Number(process.env.BENCH_MEMORY_HEAP_MB ?? 256) }));

const markdown = [
  `# driftwatch benchmarks — ${startedAt.toISOString()}`,
  '',
  `Node ${machine.node}, ${machine.cores} cores, ${machine.memoryGiB} GiB; load average at start ${machine.loadAverageAtStart.join(' / ')}. ` +
    'Everything runs on this machine: kinesalite and the Slack server (in the bench process), the consumer (a child process), ' +
    'Postgres and OpenSearch (shared with other work), so the figures include their competition for the same cores.',
  '',
  ...done.map((p) => `${p.markdown}\n`),
  `Total time ${formatNumber((Date.now() - startedAt.getTime()) / 1_000, 0)} s.`,
  '',
].join('\n');
const report = { startedAt: startedAt.toISOString(), machine, parts: Object.fromEntries(done.map((p) => [p.name, p.result])) };
const dir = join(import.meta.dirname, 'results');
await mkdir(dir, { recursive: true });
const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
await writeFile(join(dir, `bench-${stamp}.md`), markdown);
await writeFile(join(dir, `bench-${stamp}.json`), `${JSON.stringify(report, null, 2)}\n`);
process.stdout.write(JsonOutput ? `${JSON.stringify(report, null, 2)}\n` : markdown);
progress(`reports in bench/results/bench-${stamp}.{md,json}`);
