import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLambdaBundles } from '../../infra/lambda/build-lambda-bundles.ts';
import type { LambdaBundle } from '../../infra/lambda/build-lambda-bundles.ts';
import { invokeBundleFresh, syntheticMappingEvents } from '../../infra/lambda/measure-cold-start.ts';
import { createTestDatabase } from '../support/postgres.ts';
import type { TestDatabase } from '../support/postgres.ts';

/** The deployable bundles, built as `npm run build:lambda` builds them and run in a fresh Node process each. */
describe('Lambda bundles', () => {
  let outDir: string;
  let bundles: LambdaBundle[];
  let database: TestDatabase;

  beforeAll(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'dw-lambda-test-'));
    bundles = await buildLambdaBundles(outDir);
    database = await createTestDatabase({ migrate: false });
  }, 120_000);

  afterAll(async () => {
    await database?.drop();
    await rm(outDir, { recursive: true, force: true });
  });

  it('builds one ESM file per function at the paths the CDK app references', () => {
    expect(bundles.map((b) => [b.name, b.file])).toEqual([
      ['kinesis-handler', join(outDir, 'kinesis-handler/index.mjs')],
      ['outbox-handler', join(outDir, 'outbox-handler/index.mjs')],
    ]);
    // The embedded database stays out (Lambda requires DATABASE_URL): the bundles stay a few MiB.
    for (const bundle of bundles) expect(bundle.bytes).toBeLessThan(8 * 1_048_576);
  });

  it('the Kinesis bundle migrates a fresh database on its cold start and commits both batches; the outbox bundle drains what they queued', async () => {
    const env = { PATH: process.env.PATH, DATABASE_URL: database.url, LOG_LEVEL: 'warn' };
    const kinesis = await invokeBundleFresh(bundles[0]!.file, syntheticMappingEvents(60, 3), env);
    expect(kinesis.first).toEqual({ batchItemFailures: [] });
    expect(kinesis.second).toEqual({ batchItemFailures: [] });
    const processed = await database.db.selectFrom('processed_events').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    const letters = await database.db.selectFrom('dead_letters').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    expect(Number(letters.n)).toBe(0);
    // 120 deliveries, a few of them duplicate deliveries of an earlier event.
    expect(Number(processed.n)).toBeGreaterThan(100);
    const pending = () => database.db.selectFrom('notification_outbox').select((eb) => eb.fn.countAll<string>().as('n')).where('status', '<>', 'sent').executeTakeFirstOrThrow();
    expect(Number((await pending()).n)).toBeGreaterThan(0);
    const outbox = await invokeBundleFresh(bundles[1]!.file, [{}, {}], { ...env, SLACK_CHANNEL_INTERVAL_MS: '0' });
    expect(outbox.first).toMatchObject({ waiting: 0, stoppedByDeadline: false });
    expect(Number((await pending()).n)).toBe(0);
  }, 120_000);
});
