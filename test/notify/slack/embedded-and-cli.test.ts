import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../../../pipeline/config/load-settings.ts';
import { createRuntime } from '../../../pipeline/runtime/create-runtime.ts';
import type { Runtime } from '../../../pipeline/runtime/create-runtime.ts';
import { createNotifier } from '../../../pipeline/notify/create-notifier.ts';
import { complianceEvent } from '../../support/events.ts';
import { runCli } from '../../support/cli.ts';
import { SlackServer } from '../../slack-server/slack-server.ts';
import { Rules, SlackHarness, T0, VirtualClock, minutes, nextEventId } from './slack-harness.ts';

// The embedded default (npm start) runs the same SQL: SKIP LOCKED, a generated column, DISTINCT ON, CTEs, FILTER-free sums.
describe('Slack notifier on embedded PGlite', () => {
  let runtime: Runtime;
  let slack: SlackServer;
  const clock = new VirtualClock();
  beforeAll(async () => {
    slack = await SlackServer.start({ token: 'xoxb-embedded', retryAfterSeconds: 1, now: () => clock.now() });
    runtime = await createRuntime(loadSettings({ SLACK_TOKEN: 'xoxb-embedded', SLACK_API_URL: slack.url }), pino({ level: 'silent' }));
  });
  afterAll(async () => {
    await runtime?.close();
    await slack?.close();
  });

  it('posts, folds a flood into a digest, edits on resolve, and keeps flaps in one message', async () => {
    expect(runtime.database.kind).toBe('embedded');
    const processor = runtime.createProcessor('shardId-000000000000');
    let seq = 0;
    const process = (events: ReturnType<typeof complianceEvent>[]) =>
      processor.process('shardId-000000000000', events.map((e) => ({ origin: { shardId: 'shardId-000000000000', sequenceNumber: String(++seq) }, value: { data: Buffer.from(JSON.stringify(e)) } })), null, 'test', new AbortController().signal);
    const ev = (resourceId: string, compliance: 'NON_COMPLIANT' | 'COMPLIANT', at: number, rule: string = Rules.high) =>
      complianceEvent({ id: nextEventId(), resourceId, compliance, at, configRuleName: rule });
    await process([
      ...Array.from({ length: 25 }, (_, i) => ev(`bucket-${i}`, 'NON_COMPLIANT', T0, Rules.medium)),
      ev('sg-1', 'NON_COMPLIANT', T0),
      ev('sg-1', 'COMPLIANT', T0 + minutes(1)),
      ev('sg-1', 'NON_COMPLIANT', T0 + minutes(2)),
    ]);
    const notifier = createNotifier(runtime.settings, runtime.database.db, pino({ level: 'silent' }), runtime.catalog, {
      clock,
      sleep: async (ms) => clock.advance(ms),
      config: { backoffBaseMs: 100, backoffMaxMs: 1_000 },
    });
    const signal = new AbortController().signal;
    for (let i = 0; i < 20; i++) if ((await notifier.drainOnce(signal)).claimed === 0) break;
    // Unknown account: the registry's default channel. One digest for the 25, one message for sg-1 (edited by the flap).
    const messages = slack.messages('#compliance-triage');
    expect(messages).toHaveLength(2);
    expect(messages.map((m) => m.text?.split(' ')[0])).toEqual(['OPEN', '25']);
    expect(messages[0]!.edits.map((e) => e.text?.split(' ')[0])).toEqual(['RESOLVED', 'OPEN']);
    const statuses = await runtime.database.db.selectFrom('notification_outbox').select('status').execute();
    expect(statuses.every((r) => r.status === 'sent')).toBe(true);
  });
});

describe('driftwatch notify --once', () => {
  let h: SlackHarness;
  beforeAll(async () => {
    h = await SlackHarness.start();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('delivers what is due and prints a summary', async () => {
    await h.process([
      complianceEvent({ id: nextEventId(), resourceId: 'bucket-cli', compliance: 'NON_COMPLIANT', at: T0, account: '111111111111', configRuleName: Rules.critical }),
    ]);
    const env = {
      DATABASE_URL: h.database.url,
      SLACK_TOKEN: h.slack.token,
      SLACK_API_URL: h.slack.url,
      SLACK_SECURITY_CHANNEL: '#security',
      SLACK_SECURITY_SEVERITIES: 'Critical',
      SLACK_CHANNEL_INTERVAL_MS: '0',
    };
    const json = await runCli(['notify', '--once', '--json'], env);
    // No account registry here: the finding was routed when it was processed (payments), the CLI only delivers.
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ claimed: 1, sent: 1, posted: 2, failed: 0, waiting: 0, nextDueAt: null });
    expect(h.slack.messages()).toHaveLength(2);

    const text = await runCli(['notify', '--once'], env);
    expect(text.stdout).toBe(
      '0 notification(s) handled: 0 delivered, 0 suppressed (risk exception), 0 failed, 0 deferred (rate limit or Slack unavailable).\n' +
        'In Slack: 0 message(s) posted, 0 edited, 0 channel deliveries folded into digests (0 digest(s) posted, 0 updated).\n' +
        '0 notification(s) still waiting.\n',
    );
  });
});
