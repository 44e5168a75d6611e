import { randomBytes } from 'node:crypto';
import { DefaultNodeFlags, launchEnv } from '../../bin/node-flags.mjs';
import { createSyntheticOrg, generateTraffic } from '../../pipeline/demo/synthetic-org.ts';
import type { Delivery } from '../../pipeline/demo/synthetic-org.ts';
import { dropIndexPrefix, startLocalStack } from '../../test/support/local-stack.ts';
import type { LocalStack } from '../../test/support/local-stack.ts';
import { createTestDatabase } from '../../test/support/postgres.ts';
import { putRecords } from '../../test/support/put-records.ts';
import { formatBytes, formatNumber, progress, table } from '../support/bench-output.ts';
import type { BenchPart } from '../support/bench-output.ts';
import { runUntilCaughtUp } from './catchup.ts';
import type { ConsumerRunResult } from './catchup.ts';

export interface MemoryOptions {
  readonly events: number;
  readonly shards: number;
  /** Second run over the same backlog with `--max-old-space-size` (a container's heap); 0 = only the default run. */
  readonly heapMiB: number;
}

export interface MemoryRun {
  readonly nodeOptions: string;
  readonly peakRssBytes: number;
  /** Resident memory when 25, 50, 75 and 100 % of the backlog was committed: flat = bounded by backpressure. */
  readonly rssAtProgress: readonly { readonly percent: number; readonly rssBytes: number }[];
  /** process.memoryUsage() in MiB as the consumer logged it, at its largest logged RSS: heap vs. buffers. */
  readonly largestLoggedMemoryMiB: Record<string, number> | null;
  readonly run: ConsumerRunResult;
  readonly met: boolean;
}

export interface MemoryResult {
  readonly events: number;
  readonly shards: number;
  readonly runs: readonly MemoryRun[];
  readonly goal: { readonly peakRssBytes: number; readonly metWithDefaultFlags: boolean };
}

const GoalBytes = 400 * 1_048_576;

/**
 * Peak RSS (VmHWM of the consumer process) while it consumes a large backlog with every sink on. kinesalite keeps the
 * backlog on disk, in this (parent) process, so only the consumer's own memory is measured. The backlog is read
 * twice, each time into a fresh database and index prefix: with node's default heap sizing (on a big machine V8 lets
 * garbage grow the heap to several times the live data), then with a heap limit as a container would set it.
 */
export async function benchMemory(options: MemoryOptions): Promise<BenchPart<MemoryResult>> {
  progress(`memory: ${formatNumber(options.events)} events backlog, ${options.shards} shards`);
  const org = createSyntheticOrg({ accounts: 120, seed: 11 });
  const stack = await startLocalStack({ name: 'bench-memory', shards: options.shards, org, slack: { rateLimiting: true }, kinesisOnDisk: true });
  try {
    // Generated and put in slices: a million events held at once would only measure this process.
    const ids = new Set<string>();
    let records = 0;
    let slice: Delivery[] = [];
    const flush = async () => {
      records += await putRecords(stack.kinesis, stack.streamName, slice);
      slice = [];
      if (records % 100_000 < 20_000 || records === options.events) progress(`memory: put ${formatNumber(records)}/${formatNumber(options.events)} records`);
    };
    for (const delivery of generateTraffic(org, { deliveries: options.events, seed: 13 })) {
      if (delivery.event) ids.add(delivery.event.id);
      slice.push(delivery);
      if (slice.length === 20_000) await flush();
    }
    if (slice.length > 0) await flush();
    const runs: MemoryRun[] = [await measure(stack, records, ids.size, '', null)];
    if (options.heapMiB > 0) runs.push(await measure(stack, records, ids.size, `--max-old-space-size=${options.heapMiB}`, 'heap'));
    const result: MemoryResult = {
      events: options.events,
      shards: options.shards,
      runs,
      goal: { peakRssBytes: GoalBytes, metWithDefaultFlags: runs[0]!.met },
    };
    return { name: 'memory', result, markdown: memoryMarkdown(result) };
  } finally {
    await stack.close();
  }
}

async function measure(stack: LocalStack, records: number, uniqueEvents: number, nodeOptions: string, fresh: 'heap' | null): Promise<MemoryRun> {
  const label = nodeOptions ? `memory ${nodeOptions}` : 'memory';
  const target = fresh ? { database: await createTestDatabase(), indexPrefix: `${stack.indexPrefix}-${randomBytes(2).toString('hex')}` } : undefined;
  try {
    // The consumer's own account of its memory (progress log, every 10 s): the sample with the largest RSS.
    let breakdown: Record<string, number> | null = null;
    const run = await runUntilCaughtUp(stack, {
      records,
      uniqueEvents,
      label,
      ...(target ? { target } : {}),
      env: nodeOptions ? { NODE_OPTIONS: nodeOptions } : {},
      onLog: (line) => {
        const memory = line.msg === 'progress' ? (line.memory as Record<string, number> | undefined) : undefined;
        if (memory && (!breakdown || (memory.rss ?? 0) > (breakdown.rss ?? 0))) breakdown = memory;
      },
    });
    const rssAtProgress = [25, 50, 75, 100].map((percent) => {
      const point = run.timeline.find((p) => p.committed >= (uniqueEvents * percent) / 100) ?? run.timeline.at(-1);
      return { percent, rssBytes: point?.rssBytes ?? 0 };
    });
    // With no NODE_OPTIONS the consumer runs with the flags its launcher adds (bin/node-flags.mjs).
    const launcherFlags = process.env.DRIFTWATCH_NODE_FLAGS ?? DefaultNodeFlags;
    const arenas = launcherFlags ? `, MALLOC_ARENA_MAX=${launchEnv(process.env).MALLOC_ARENA_MAX}` : '';
    return { nodeOptions: nodeOptions || `(default: the launcher's ${launcherFlags || 'none'}${arenas})`, peakRssBytes: run.peakRssBytes, rssAtProgress, largestLoggedMemoryMiB: breakdown, run, met: run.peakRssBytes < GoalBytes };
  } finally {
    if (target) {
      await target.database.drop().catch(() => undefined);
      if (stack.openSearchUrl) await dropIndexPrefix(stack.openSearchUrl, target.indexPrefix).catch(() => undefined);
    }
  }
}

function memoryMarkdown(r: MemoryResult): string {
  const parts = (run: MemoryRun) =>
    run.largestLoggedMemoryMiB ? Object.entries(run.largestLoggedMemoryMiB).map(([k, v]) => `${k} ${v}`).join(', ') : 'n/a';
  return [
    `## Memory: ${formatNumber(r.events)}-event backlog, ${r.shards} shards, all sinks (consumer process only)`,
    '',
    table(
      ['node options', 'peak RSS (VmHWM)', 'RSS at 25 / 50 / 75 / 100 %', 'logged at its largest RSS (MiB)', 'events/s', 'goal < 400 MiB'],
      r.runs.map((run) => [
        run.nodeOptions,
        formatBytes(run.peakRssBytes),
        run.rssAtProgress.map((p) => formatNumber(p.rssBytes / 1_048_576)).join(' / '),
        parts(run),
        formatNumber(run.run.eventsPerSecond),
        run.met ? 'met' : 'NOT met',
      ]),
    ),
  ].join('\n');
}
