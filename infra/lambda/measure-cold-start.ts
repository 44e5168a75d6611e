import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createSyntheticOrg, generateTraffic } from '../../pipeline/demo/synthetic-org.ts';
import { createTestDatabase } from '../../test/support/postgres.ts';
import { buildLambdaBundles } from './build-lambda-bundles.ts';

const run = promisify(execFile);
const InvokeBundle = fileURLToPath(new URL('./invoke-bundle.mjs', import.meta.url));

export interface ColdStart {
  readonly importMs: number;
  readonly firstInvokeMs: number;
  readonly secondInvokeMs: number;
  readonly first: unknown;
  readonly second: unknown;
}

/**
 * Invokes a bundle in a fresh Node process (a new container): the module's import, the first invocation with
 * `events[0]` (settings, catalogs, Postgres connection, migration check, then the batch) and a warm one with `events[1]`.
 */
export async function invokeBundleFresh(bundle: string, events: readonly [unknown, unknown], env: NodeJS.ProcessEnv): Promise<ColdStart> {
  const dir = await mkdtemp(join(tmpdir(), 'dw-lambda-event-'));
  try {
    const file = join(dir, 'event.json');
    await writeFile(file, JSON.stringify(events));
    const { stdout } = await run(process.execPath, [InvokeBundle, bundle, file], { env, maxBuffer: 16 * 1_048_576 });
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as ColdStart;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Two mapping events of `count` synthetic records each, one shard's consecutive batches. */
export function syntheticMappingEvents(count: number, seed = 7): [unknown, unknown] {
  const org = createSyntheticOrg({ accounts: 40, seed });
  const records = [...generateTraffic(org, { deliveries: count * 2, seed, malformedRate: 0 })];
  const event = (from: number) => ({
    Records: records.slice(from, from + count).map((r, j) => ({
      kinesis: { kinesisSchemaVersion: '1.0', partitionKey: r.partitionKey, sequenceNumber: String(10_000 + from + j), data: r.data.toString('base64'), approximateArrivalTimestamp: Date.now() / 1_000 },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `shardId-000000000000:${10_000 + from + j}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::123456789012:role/driftwatch-consumer',
      awsRegion: 'us-east-1',
      eventSourceARN: 'arn:aws:kinesis:us-east-1:123456789012:stream/driftwatch-compliance',
    })),
  });
  return [event(0), event(count)];
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rounds = Number(process.env.BENCH_LAMBDA_ROUNDS ?? 5);
  const records = Number(process.env.BENCH_LAMBDA_RECORDS ?? 100);
  const outDir = await mkdtemp(join(tmpdir(), 'dw-lambda-bundles-'));
  const bundles = await buildLambdaBundles(outDir);
  const kinesis = bundles.find((b) => b.name === 'kinesis-handler')!;
  process.stderr.write(`cold start of ${kinesis.name} (${(kinesis.bytes / 1_048_576).toFixed(2)} MiB): ${rounds} fresh processes, ${records} records each, Node ${process.version}\n`);
  const rows: ColdStart[] = [];
  for (let round = 0; round < rounds; round++) {
    // A fresh database each round: the first container of a deployment also applies the migrations; later ones find them done.
    const database = await createTestDatabase({ migrate: round % 2 === 1 });
    try {
      const result = await invokeBundleFresh(kinesis.file, syntheticMappingEvents(records, round + 1), { PATH: process.env.PATH, DATABASE_URL: database.url, LOG_LEVEL: 'warn' });
      rows.push(result);
      process.stderr.write(`  round ${round + 1}: import ${result.importMs.toFixed(0)} ms, first ${result.firstInvokeMs.toFixed(0)} ms, warm ${result.secondInvokeMs.toFixed(0)} ms (migrated before: ${round % 2 === 1})\n`);
    } finally {
      await database.drop();
    }
  }
  await rm(outDir, { recursive: true, force: true });
  const pick = (key: 'importMs' | 'firstInvokeMs' | 'secondInvokeMs') => Math.round(median(rows.map((r) => r[key])));
  const summary = { bundleBytes: kinesis.bytes, records, rounds, medianImportMs: pick('importMs'), medianFirstInvokeMs: pick('firstInvokeMs'), medianWarmInvokeMs: pick('secondInvokeMs') };
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else {
    process.stdout.write(
      `bundle ${(summary.bundleBytes / 1_048_576).toFixed(2)} MiB · cold start (median of ${rounds}): import ${summary.medianImportMs} ms + first invocation ${summary.medianFirstInvokeMs} ms · warm invocation ${summary.medianWarmInvokeMs} ms (${records} records)\n`,
    );
  }
}
