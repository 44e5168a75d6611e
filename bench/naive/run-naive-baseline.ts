import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createSyntheticOrg, generateTraffic } from '../../pipeline/demo/synthetic-org.ts';
import { startLocalStack } from '../../test/support/local-stack.ts';
import { putRecords } from '../../test/support/put-records.ts';
import { countDocuments } from '../../test/support/stack-queries.ts';

export interface NaiveResult {
  readonly records: number;
  readonly uniqueEvents: number;
  readonly loops: number;
  readonly seconds: number;
  readonly recordsPerSecond: number;
  readonly eventsPerSecond: number;
}

const Script = join(import.meta.dirname, 'naive-lambda.ts');

/** Runs naive-lambda.ts as its own process (like the pipeline's consumer) over a backlog of `events` records. */
export async function runNaiveBaseline(options: { readonly events: number; readonly shards: number }): Promise<NaiveResult> {
  const org = createSyntheticOrg({ accounts: 120, seed: 11 });
  const stack = await startLocalStack({ name: 'bench-naive', shards: options.shards, org, slack: false });
  try {
    const deliveries = [...generateTraffic(org, { deliveries: options.events, seed: 7 })];
    const uniqueEvents = new Set(deliveries.flatMap((d) => (d.event ? [d.event.id] : []))).size;
    await putRecords(stack.kinesis, stack.streamName, deliveries);
    const index = `${stack.indexPrefix}-naive`;
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', Script], {
        env: { ...stack.consumerEnv(), NAIVE_INDEX: index },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 30 * 60_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        if (code === 0) resolve(stdout);
        else reject(new Error(`naive baseline exited with ${code}: ${stderr.slice(-2_000)}`));
      });
    });
    const run = JSON.parse(output.trim().split('\n').at(-1)!) as { records: number; events: number; loops: number; elapsedMs: number };
    const stored = await countDocuments(stack.openSearchUrl!, index);
    if (stored !== uniqueEvents) throw new Error(`naive baseline stored ${stored} documents, expected ${uniqueEvents}`);
    const seconds = run.elapsedMs / 1_000;
    return {
      records: run.records,
      uniqueEvents,
      loops: run.loops,
      seconds: Number(seconds.toFixed(2)),
      recordsPerSecond: Math.round(run.records / seconds),
      eventsPerSecond: Math.round(uniqueEvents / seconds),
    };
  } finally {
    await stack.close();
  }
}
