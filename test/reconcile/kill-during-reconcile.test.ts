import { spawn } from 'node:child_process';
import { normalizeRuleName } from '../../stages/enrich/normalize-rule-name.ts';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReconcileReport } from '../../pipeline/reconcile/reconciler.ts';
import { ConfigEstate } from '../aws-server/config/config-estate.ts';
import type { AwsJsonServer } from '../aws-server/aws-json-server.ts';
import { Accounts, SlackHarness } from '../notify/slack/slack-harness.ts';
import { complianceEvent } from '../support/events.ts';
import { keyOf, startAwsServer } from './support/aws-harness.ts';

const Bin = join(import.meta.dirname, '../../bin/driftwatch.mjs');
const estate = ConfigEstate.generate({ accountIds: Accounts.map((a) => a.id), regions: 8, rules: 30, seed: 13, nonCompliantRate: 0.2 });

function reconcileProcess(env: NodeJS.ProcessEnv): { exited: Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>; kill: () => void } {
  const child = spawn(process.execPath, [Bin, 'reconcile', '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { exited, kill: () => child.kill('SIGKILL') };
}

describe('kill -9 during reconcile, then restart', () => {
  let aws: AwsJsonServer;
  let harness: SlackHarness;
  let env: NodeJS.ProcessEnv;
  let report: ReconcileReport;
  let cursorAtKill = 0;

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dw-rc-kill-'));
    const accountsFile = join(dir, 'accounts.json');
    await writeFile(accountsFile, JSON.stringify({ defaults: { slackChannel: '#compliance-triage' }, accounts: Accounts }));
    const started = await startAwsServer(estate);
    aws = started.server;
    harness = await SlackHarness.start({ env: { ...started.env, DRIFTWATCH_ACCOUNTS: accountsFile } });
    // A store that is not empty: this is a repair run, whose findings alert one by one (the case where a double post would show).
    const first = estate.evaluations()[0]!;
    await harness.process([complianceEvent({ id: 'seed-1', account: first.accountId, region: first.region, configRuleName: first.configRuleName, resourceType: first.resourceType, resourceId: first.resourceId, compliance: first.compliance, at: first.orderingTime })]);
    env = { PATH: process.env.PATH, ...started.env, DATABASE_URL: harness.database.url, DRIFTWATCH_ACCOUNTS: accountsFile, DRIFTWATCH_WORKER_ID: 'reconcile-kill-test', LOG_LEVEL: 'silent' };

    aws.setLatency(120);
    const doomed = reconcileProcess(env);
    const db = harness.database.db.withTables<{ reconcile_runs: { next_account: number } }>();
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const row = await db.selectFrom('reconcile_runs').select('next_account').executeTakeFirst();
      if (row && row.next_account >= 2) break;
      await sleep(20);
    }
    doomed.kill();
    const killed = await doomed.exited;
    expect(killed.signal).toBe('SIGKILL');
    cursorAtKill = (await db.selectFrom('reconcile_runs').select('next_account').executeTakeFirstOrThrow()).next_account;

    aws.setLatency(0);
    // The restart meets a throttling burst longer than the SDK's own retries: slower, not failed.
    aws.throttle(8, 'SelectAggregateResourceConfig');
    const restarted = await reconcileProcess(env).exited;
    expect(restarted.code, restarted.stderr).toBe(0);
    report = JSON.parse(restarted.stdout) as ReconcileReport;
  }, 180_000);

  afterAll(async () => {
    await harness?.close();
    await aws?.close();
  });

  it('resumes at the cursor and finishes with the counts of an uninterrupted run', () => {
    expect(cursorAtKill).toBeGreaterThanOrEqual(2);
    expect(cursorAtKill).toBeLessThan(Accounts.length);
    expect(report).toMatchObject({ resumed: true, backfill: false, notify: 'alert' });
    expect(report.totals.evaluations).toBe(estate.size);
    expect(report.totals.differences + report.totals.unchanged).toBe(estate.size);
    expect(report.totals.unchanged).toBe(1);
    expect(report.throttled).toBeGreaterThan(0);
  });

  it('opened each missed finding once: no duplicate finding, event or notification intent', async () => {
    const environment = new Map(Accounts.map((a) => [a.id, a.environment]));
    const expected = estate
      .evaluations()
      .filter((e) => e.compliance === 'NON_COMPLIANT' && (harness.runtime.catalog.lookup(normalizeRuleName(e.configRuleName)).rule.scope === 'All' || environment.get(e.accountId) === 'production'))
      .map(keyOf)
      .sort();
    const findings = await harness.database.db.selectFrom('findings').select(['evaluation_key', 'status']).execute();
    expect(findings.map((f) => f.evaluation_key).sort()).toEqual(expected);
    expect(findings.every((f) => f.status === 'open')).toBe(true);
    expect(report.totals.opened).toBe(expected.length);
    const intents = await harness.database.db.selectFrom('notification_outbox').select(['finding_id', 'kind']).execute();
    expect(intents.length).toBe(expected.length);
    expect(new Set(intents.map((i) => i.finding_id)).size).toBe(expected.length);
    const processed = await harness.database.db.selectFrom('processed_events').select('event_id').where('event_id', 'like', 'reconcile-%').execute();
    expect(processed.length).toBe(estate.size - 1);
  });

  it('posts each alert once to Slack', async () => {
    const notifier = harness.notifier();
    await harness.drainUntilSettled(notifier);
    const db = harness.database.db.withTables<{ slack_messages: { finding_id: string; channel: string; role: string }; slack_digests: { state: string } }>();
    const pendingDigests = async () => (await db.selectFrom('slack_digests').select('state').where('state', '<>', 'posted').execute()).length;
    for (let round = 0; round < 500 && (await pendingDigests()) > 0; round++) {
      await notifier.drainOnce(new AbortController().signal);
      harness.clock.advance(20_000);
    }
    const deliveries = await db.selectFrom('slack_messages').select(['finding_id', 'channel', 'role']).execute();
    const perDelivery = new Map<string, number>();
    for (const d of deliveries) perDelivery.set(`${d.finding_id}|${d.channel}`, (perDelivery.get(`${d.finding_id}|${d.channel}`) ?? 0) + 1);
    expect([...perDelivery.values()].every((n) => n === 1)).toBe(true);
    expect(new Set(deliveries.map((d) => d.finding_id)).size).toBe(report.totals.opened);
    // Every post Slack accepted is one alert row or one digest: nothing posted twice.
    const posts = harness.slack.calls.filter((c) => c.method === 'chat.postMessage' && c.status === 200).length;
    const digests = (await db.selectFrom('slack_digests').select('state').execute()).length;
    expect(posts).toBe(deliveries.filter((d) => d.role === 'alert').length + digests);
  });
});
