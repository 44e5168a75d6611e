import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../../pipeline/config/load-settings.ts';
import type { ReconcileReport } from '../../pipeline/reconcile/reconciler.ts';
import { createRuntime } from '../../pipeline/runtime/create-runtime.ts';
import type { Runtime } from '../../pipeline/runtime/create-runtime.ts';
import { ConfigEstate } from '../aws-server/config/config-estate.ts';
import type { AwsJsonServer } from '../aws-server/aws-json-server.ts';
import { createTestDatabase } from '../support/postgres.ts';
import type { TestDatabase } from '../support/postgres.ts';
import { keyOf, reconcile, startAwsServer } from './support/aws-harness.ts';

const accounts = Array.from({ length: 8 }, (_, i) => String(200000000001 + i));
// About 5,000 evaluations: several batches of 2,000, processed by more than one lane at once.
const estate = ConfigEstate.generate({ accountIds: accounts, regions: 16, rules: 30, seed: 19, nonCompliantRate: 0.2 });

class InjectedCommitFailure extends Error {
  override readonly name = 'InjectedCommitFailure';
}

describe('a batch that fails while others are in flight', () => {
  let aws: AwsJsonServer;
  let database: TestDatabase;
  let runtime: Runtime;
  let commits = 0;
  let failAt = 3;
  let failure: unknown;
  let cursorAfterFailure = -1;
  let cursorLater = -1;
  let report: ReconcileReport;

  beforeAll(async () => {
    const started = await startAwsServer(estate);
    aws = started.server;
    database = await createTestDatabase();
    runtime = await createRuntime(loadSettings({ ...started.env, DATABASE_URL: database.url }), pino({ level: 'silent' }), {
      sinks: [],
      processorHooks: {
        beforeCommit: async (batch) => {
          if (batch.source === 'reconcile' && ++commits === failAt) throw new InjectedCommitFailure('commit refused (test)');
        },
        // The batches before the failing one finish late: their cursor writes are still on their way when it fails.
        afterCommit: async (batch) => {
          if (batch.source === 'reconcile' && failAt > 0 && commits < failAt) await sleep(800);
        },
      },
    });
    failure = await reconcile(runtime).then(() => null, (error: unknown) => error);
    const db = database.db.withTables<{ reconcile_runs: { next_account: number; status: string } }>();
    const run = await db.selectFrom('reconcile_runs').select(['next_account', 'status']).executeTakeFirstOrThrow();
    expect(run.status).toBe('running');
    cursorAfterFailure = run.next_account;
    await sleep(1_500);
    cursorLater = (await db.selectFrom('reconcile_runs').select('next_account').executeTakeFirstOrThrow()).next_account;
    failAt = 0;
    report = await reconcile(runtime);
  }, 180_000);

  afterAll(async () => {
    await runtime?.close();
    await database?.drop();
    await aws?.close();
  });

  it('fails the run with that batch\'s error and leaves the cursor short of the end', () => {
    expect(failure).toBeInstanceOf(InjectedCommitFailure);
    expect(cursorAfterFailure).toBeGreaterThanOrEqual(0);
    expect(cursorAfterFailure).toBeLessThan(accounts.length);
    // Every cursor write of the failed run had settled when it reported the failure: none lands under the next run.
    expect(cursorLater).toBe(cursorAfterFailure);
  });

  it('the next run resumes and ends with the counts and findings of an uninterrupted backfill', async () => {
    expect(report).toMatchObject({ resumed: true, backfill: true });
    expect(report.totals).toMatchObject({ evaluations: estate.size, differences: estate.size, unchanged: 0 });
    const expected = estate.evaluations().filter((e) => e.compliance === 'NON_COMPLIANT').map(keyOf).sort();
    expect(report.totals.opened).toBe(expected.length);
    const findings = await database.db.selectFrom('findings').select(['evaluation_key', 'status']).execute();
    expect(findings.map((f) => f.evaluation_key).sort()).toEqual(expected);
    expect(findings.every((f) => f.status === 'open')).toBe(true);
    const intents = await database.db.selectFrom('notification_outbox').select('finding_id').execute();
    expect(new Set(intents.map((i) => i.finding_id)).size).toBe(intents.length);
    expect(intents.length).toBe(expected.length);
  });
});
