import { PassThrough } from 'node:stream';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { complianceEvent } from '../../support/events.ts';
import type { ComplianceType } from '../../../schemas/compliance-change-event.ts';
import { slackNotifierConfigFrom } from '../../../pipeline/notify/slack/config.ts';
import { loadSettings } from '../../../pipeline/config/load-settings.ts';
import { Rules, SlackHarness, SlackTestToken, T0, minutes, nextEventId } from './slack-harness.ts';
import type { RecordedMessage } from '../../slack-server/slack-server-types.ts';

const event = (resourceId: string, compliance: ComplianceType, at: number, options: { account?: string; rule?: string; annotation?: string; region?: string } = {}) =>
  complianceEvent({
    id: nextEventId(),
    resourceId,
    compliance,
    at,
    account: options.account ?? '111111111111',
    configRuleName: options.rule ?? Rules.high,
    ...(options.region ? { region: options.region } : {}),
    ...(options.annotation ? { annotation: options.annotation } : {}),
  });

const blocksText = (m: RecordedMessage): string => JSON.stringify(m.blocks ?? []);
const marker = (m: RecordedMessage): unknown => (m.params.metadata as { event_payload?: { post_key?: string } } | undefined)?.event_payload?.post_key;

describe('Slack notifier (real Postgres, local Slack server)', () => {
  let h: SlackHarness;
  beforeEach(async () => {
    h = await SlackHarness.start();
  });
  afterEach(async () => {
    await h?.close();
  });

  it('alerts the owner (and security for Critical) on open, then edits the same messages to resolved', async () => {
    await h.process([
      event('bucket-critical', 'NON_COMPLIANT', T0, { rule: Rules.critical, annotation: 'ACL grants WRITE to AllUsers' }),
      event('bucket-high', 'NON_COMPLIANT', T0, { rule: Rules.high }),
      event('bucket-stranger', 'NON_COMPLIANT', T0, { account: '999999999999' }),
    ]);
    const notifier = h.notifier();
    await notifier.init(new AbortController().signal);
    const first = await h.drainUntilSettled(notifier);
    expect(first).toMatchObject({ claimed: 3, sent: 3, posted: 4, failed: 0 });

    const [owner] = h.slack.messages('#payments-alerts').filter((m) => blocksText(m).includes('bucket-critical'));
    const [security] = h.slack.messages('#security');
    const [high] = h.slack.messages('#payments-alerts').filter((m) => blocksText(m).includes('bucket-high'));
    expect(h.slack.messages('#payments-alerts')).toHaveLength(2);
    expect(h.slack.messages('#security')).toHaveLength(1); // High does not go to security
    expect(h.slack.messages('#compliance-triage')).toHaveLength(1); // unknown account: default channel
    for (const m of [owner!, security!]) {
      expect(m.text).toMatch(/^OPEN Critical · Not compliant: S3 buckets do not allow public write · AWS::S3::Bucket bucket-critical in payments-prod \(111111111111, production\) us-east-1/);
      expect(blocksText(m)).toContain('ACL grants WRITE to AllUsers');
      expect(blocksText(m)).toContain('https://wiki.example.com/runbooks/s3-bucket-public-write-prohibited');
      expect(blocksText(m)).toContain('config/home?region=us-east-1#/resources/details?resourceId=bucket-critical&resourceType=AWS%3A%3AS3%3A%3ABucket');
    }
    expect(high!.text).toMatch(/^OPEN High/);

    await h.process([
      event('bucket-critical', 'COMPLIANT', T0 + minutes(90), { rule: Rules.critical }),
      event('bucket-high', 'NOT_APPLICABLE', T0 + minutes(5), { rule: Rules.high }),
    ]);
    const second = await h.drainUntilSettled(notifier);
    expect(second).toMatchObject({ claimed: 2, sent: 2, posted: 0, updated: 3 });
    expect(h.slack.messages()).toHaveLength(4); // edited in place, nothing new
    for (const m of [h.slack.message('#payments-alerts', owner!.ts)!, h.slack.message('#security', security!.ts)!]) {
      expect(m.edits).toHaveLength(1);
      expect(m.text).toMatch(/^RESOLVED \(compliant again after 1h 30m\) Critical/);
      expect(blocksText(m)).toContain(':white_check_mark: Resolved');
    }
    expect(h.slack.message('#payments-alerts', high!.ts)!.text).toMatch(/^RESOLVED \(no longer applicable after 5m\)/);
    const stored = await h.database.db.withTables<{ slack_messages: { channel: string; ts: string | null; shows: string | null } }>()
      .selectFrom('slack_messages').select(['channel', 'ts', 'shows']).orderBy('channel').execute();
    expect(stored.filter((r) => r.channel !== '#compliance-triage').every((r) => r.ts !== null && r.shows === 'resolved')).toBe(true);
    expect(await h.outboxStatuses()).toEqual({ sent: 5 });
  });

  it('a 429 storm and a 503 outage lose nothing, post nothing twice, and keep each finding in order', async () => {
    const resources = Array.from({ length: 24 }, (_, i) => ({ id: `sg-${i}`, account: ['111111111111', '222222222222', '444444444444'][i % 3]! }));
    // Opened and resolved are both in the outbox before the first drain: the resolve must wait for its post.
    await h.process(resources.map((r) => event(r.id, 'NON_COMPLIANT', T0, { account: r.account })));
    await h.process(resources.map((r) => event(r.id, 'COMPLIANT', T0 + minutes(3), { account: r.account })));
    h.slack.rateLimitStorm(20_000, { retryAfterSeconds: 2 });
    h.slack.failNext(5, 503, { methods: ['chat.update'] });
    const notifier = h.notifier();
    const totals = await h.drainUntilSettled(notifier);
    expect(totals.sent).toBe(48);
    expect(totals.retried).toBeGreaterThan(0);
    expect(h.slack.rateLimitedCount).toBeGreaterThan(10);
    const messages = h.slack.messages();
    expect(messages).toHaveLength(24);
    expect(new Set(messages.map(marker)).size).toBe(24);
    for (const m of messages) {
      expect(m.edits.length).toBeGreaterThanOrEqual(1);
      expect(m.text).toMatch(/^RESOLVED/);
    }
    // Never an edit before its post: not one message_not_found.
    expect(h.slack.calls.filter((c) => c.error === 'message_not_found')).toHaveLength(0);
    // Pacing kept every channel under Slack's own per-channel limit: the only 429s were the storm's.
    expect(h.slack.calls.filter((c) => c.status === 429 && c.fault !== 'storm')).toHaveLength(0);
    expect(h.slack.calls.filter((c) => c.method === 'chat.postMessage' && c.ok)).toHaveLength(24);
    expect(await h.outboxStatuses()).toEqual({ sent: 48 });
  });

  it('crash between claim and send: a fresh notifier posts exactly once', async () => {
    await h.process([event('bucket-a', 'NON_COMPLIANT', T0)]);
    const crashing = h.notifier({ owner: 'worker-1', hooks: { afterClaim: () => { throw new Error('crash after claim'); } } });
    await expect(crashing.drainOnce(new AbortController().signal)).rejects.toThrow('crash after claim');
    expect(h.slack.messages()).toHaveLength(0);
    expect(await h.outboxStatuses()).toEqual({ claimed: 1 });

    // The dead worker's claim expires (on the database's clock, which claims use); another worker takes over.
    await h.expireClaims();
    const survivor = h.notifier({ owner: 'worker-2' });
    expect(await h.drainUntilSettled(survivor)).toMatchObject({ sent: 1, posted: 1 });
    expect(h.slack.messages()).toHaveLength(1);
    expect(h.slack.calls.filter((c) => c.method === 'conversations.history')).toHaveLength(1); // looked before posting
    expect(await h.outboxStatuses()).toEqual({ sent: 1 });
  });

  it('crash between send and recording the ts: the message is found by its marker and adopted, not posted again', async () => {
    await h.process([event('bucket-b', 'NON_COMPLIANT', T0)]);
    const crashing = h.notifier({ owner: 'worker-1', hooks: { afterSend: () => { throw new Error('crash after send'); } } });
    await expect(crashing.drainOnce(new AbortController().signal)).rejects.toThrow('crash after send');
    expect(h.slack.messages()).toHaveLength(1);

    await h.expireClaims();
    const survivor = h.notifier({ owner: 'worker-2' });
    expect(await h.drainUntilSettled(survivor)).toMatchObject({ sent: 1, posted: 0 });
    expect(h.slack.messages()).toHaveLength(1);

    // The adopted ts is the real one: the resolve edits that very message.
    await h.process([event('bucket-b', 'COMPLIANT', T0 + minutes(1))]);
    expect(await h.drainUntilSettled(survivor)).toMatchObject({ sent: 1, updated: 1 });
    const [only] = h.slack.messages();
    expect(only!.edits).toHaveLength(1);
    expect(only!.text).toMatch(/^RESOLVED/);
  });

  it('an ambiguous failure (reset after Slack may have posted) is reconciled before posting again', async () => {
    await h.process([event('bucket-c', 'NON_COMPLIANT', T0)]);
    h.slack.failNext(1, 'reset', { methods: ['chat.postMessage'] });
    const notifier = h.notifier();
    expect(await h.drainUntilSettled(notifier)).toMatchObject({ sent: 1, posted: 1 });
    expect(h.slack.messages()).toHaveLength(1);
    expect(h.slack.calls.map((c) => c.method)).toEqual(['chat.postMessage', 'conversations.history', 'chat.postMessage']);
  });

  it('a flapping resource edits its message; reopening after the debounce window posts in the old thread', async () => {
    await h.process([
      event('sg-flappy', 'NON_COMPLIANT', T0),
      event('sg-flappy', 'COMPLIANT', T0 + minutes(2)),
      event('sg-flappy', 'NON_COMPLIANT', T0 + minutes(5)), // 3 min after the fix: a flap
      event('sg-flappy', 'COMPLIANT', T0 + minutes(6)),
      event('sg-flappy', 'NON_COMPLIANT', T0 + minutes(9)), // a second flap
      event('sg-flappy', 'COMPLIANT', T0 + minutes(10)),
      event('sg-flappy', 'NON_COMPLIANT', T0 + minutes(45)), // 35 min later: new episode, new message in the thread
    ]);
    const totals = await h.drainUntilSettled(h.notifier());
    expect(totals).toMatchObject({ sent: 7, posted: 2 });
    const messages = h.slack.messages('#payments-alerts');
    expect(messages).toHaveLength(2);
    const [root, reply] = messages as [RecordedMessage, RecordedMessage];
    expect(root.edits.map((e) => (e.text ?? '').split(' ')[0])).toEqual(['RESOLVED', 'OPEN', 'RESOLVED', 'OPEN', 'RESOLVED']);
    expect(JSON.stringify(root.blocks)).toContain('flapped 2 times');
    expect(reply.thread_ts).toBe(root.ts);
    expect(reply.reply_broadcast).toBe(true);
    expect(reply.text).toMatch(/^OPEN/);
    expect(JSON.stringify(reply.blocks)).toContain('Non-compliant again');
  });

  it('escalations, re-alerts after an exception, monthly reports, and silence under a risk exception', async () => {
    await h.process([event('bucket-late', 'NON_COMPLIANT', T0, { rule: Rules.critical }), event('bucket-excepted', 'NON_COMPLIANT', T0, { account: '222222222222' })]);
    const db = h.database.db;
    const excepted = await db.selectFrom('findings').select('finding_id').where('resource_id', '=', 'bucket-excepted').executeTakeFirstOrThrow();
    await db.updateTable('findings').set({ exception_id: 'exc-1' }).where('finding_id', '=', excepted.finding_id).execute();
    const notifier = h.notifier();
    expect(await h.drainUntilSettled(notifier)).toMatchObject({ sent: 1, suppressed: 1 });
    expect(h.slack.messages('#identity-alerts')).toHaveLength(0);

    const late = await db.selectFrom('findings').selectAll().where('resource_id', '=', 'bucket-late').executeTakeFirstOrThrow();
    const payloadFinding = (await db.selectFrom('notification_outbox').select('payload').where('intent_id', '=', `${late.finding_id}:finding.opened`).executeTakeFirstOrThrow()).payload as { finding: unknown };
    await db.insertInto('notification_outbox').values([
      { intent_id: `${late.finding_id}:finding.escalated:0`, finding_id: late.finding_id, kind: 'finding.escalated', payload: JSON.stringify({ kind: 'finding.escalated', finding: payloadFinding.finding, escalation: { reminder: false, count: 0, at: T0 + minutes(300) } }) },
      { intent_id: `${late.finding_id}:finding.realert:exc-9`, finding_id: late.finding_id, kind: 'finding.realert', payload: JSON.stringify({ kind: 'finding.realert', finding: payloadFinding.finding, reason: 'exception-expired', exceptionId: 'exc-9' }) },
      { intent_id: 'report:2026-02:report.monthly', finding_id: 'report:2026-02', kind: 'report.monthly', payload: JSON.stringify({ kind: 'report.monthly', month: '2026-02', channel: '#general', text: '*Compliance in February*\n• payments-prod: 98%' }) },
    ]).execute();
    expect(await h.drainUntilSettled(notifier)).toMatchObject({ sent: 3, failed: 0 });

    const [originalOwner] = h.slack.messages('#payments-alerts');
    const security = h.slack.messages('#security');
    expect(security.map((m) => (m.text ?? '').split(':')[0])).toEqual(['OPEN Critical · Not compliant', 'Deadline passed', 'OPEN Critical · Not compliant']);
    expect(security[1]!.text).toContain('owner payments');
    expect(JSON.stringify(security[1]!.blocks)).toContain('#payments-alerts');
    const ownerThread = h.slack.messages('#payments-alerts').filter((m) => m.thread_ts === originalOwner!.ts && m.ts !== originalOwner!.ts);
    expect(ownerThread.map((m) => m.text ?? '')).toEqual([
      expect.stringMatching(/^:alarm_clock: This Critical finding passed its deadline .* and was escalated to the security team\.$/),
      expect.stringMatching(/^OPEN Critical/),
    ]);
    expect(JSON.stringify(ownerThread[1]!.blocks)).toContain('risk exception for this finding ended');
    expect(h.slack.messages('#general').map((m) => m.text)).toEqual(['*Compliance in February*\n• payments-prod: 98%']);

    // Resolving edits every alert of the finding: the original and the re-alert, in both channels.
    await h.process([event('bucket-late', 'COMPLIANT', T0 + minutes(400), { rule: Rules.critical })]);
    expect(await h.drainUntilSettled(notifier)).toMatchObject({ sent: 1, updated: 4 });
    const alerts = h.slack.messages().filter((m) => m.edits.length > 0);
    expect(alerts).toHaveLength(4);
    expect(alerts.every((m) => m.text?.startsWith('RESOLVED'))).toBe(true);
  });

  it('user-controlled strings render as text: nobody is pinged', async () => {
    const attack = '<!channel> <@U0BADBAD> <http://evil.example|click> & <!here>';
    await h.process([event(`bucket-${attack}`, 'NON_COMPLIANT', T0, { account: '555555555555', annotation: `tag Owner=${attack}` })]);
    await h.drainUntilSettled(h.notifier());
    const [m] = h.slack.messages('#ops-alerts');
    expect(m).toBeDefined();
    const mrkdwn = [m!.text, ...JSON.stringify(m!.blocks).match(/"text":"(?:[^"\\]|\\.)*"/g)!.map((s) => JSON.parse(`{${s}}`).text as string)];
    for (const part of mrkdwn as string[]) {
      for (const sequence of ['<!channel>', '<!here>', '<@U0BADBAD>', '<http://evil.example|click>']) expect(part).not.toContain(sequence);
      expect(part.match(/<[^>]*>/g)?.every((s) => s.startsWith('<!date^')) ?? true).toBe(true);
    }
    expect(m!.text).toContain('bucket-&lt;!channel&gt; &lt;@U0BADBAD&gt; &lt;http://evil.example|click&gt; &amp; &lt;!here&gt;');
    expect(m!.text).toContain('ops &lt;!channel&gt; &amp; &lt;@U0BADBAD&gt;');
    expect(m!.params.link_names).toBeUndefined();
  });

  it('never shows the token: not in logs, outbox errors, thrown errors or the printed config', async () => {
    await h.process([event('bucket-t', 'NON_COMPLIANT', T0), event('bucket-u', 'NON_COMPLIANT', T0, { account: '222222222222' })]);
    h.slack.failNext(1, 500);
    h.slack.failNext(1, 'reset');
    const notifier = h.notifier();
    await h.drainUntilSettled(notifier);
    expect(h.slack.messages()).toHaveLength(2);

    // A revoked token: the notifier pauses (nothing dropped) and says why without the token.
    await h.process([event('bucket-v', 'NON_COMPLIANT', T0)]);
    const wrong = loadSettings({ SLACK_TOKEN: 'xoxb-revoked-0000-SECRET', SLACK_API_URL: h.slack.url });
    const badNotifier = new (await import('../../../pipeline/notify/slack/slack-notifier.ts')).SlackNotifier({
      config: slackNotifierConfigFrom(wrong), db: h.database.db, logger: h.logger, catalog: h.runtime.catalog, clock: h.clock,
      sleep: async (ms) => h.clock.advance(ms),
    });
    const initError = await badNotifier.init().then(() => null, (e: unknown) => e as Error);
    expect(initError?.message).toBe('Slack auth.test failed: invalid_auth');
    expect(await badNotifier.drainOnce(new AbortController().signal)).toMatchObject({ claimed: 1, retried: 1, sent: 0 });
    expect(await badNotifier.drainOnce(new AbortController().signal)).toMatchObject({ claimed: 0 }); // paused
    expect(await h.outboxStatuses()).toMatchObject({ pending: 1 });

    const config = slackNotifierConfigFrom(wrong);
    const lastErrors = (await h.database.db.selectFrom('notification_outbox').select('last_error').execute()).map((r) => r.last_error ?? '');
    const everything = [...h.logLines, ...lastErrors, String(initError?.stack), JSON.stringify(config), inspect(config), String(config.token)].join('\n');
    expect(h.logLines.join('\n')).toContain('invalid_auth');
    for (const secret of [SlackTestToken, 'xoxb-revoked-0000-SECRET']) expect(everything).not.toContain(secret);
  });

  it('without a token, notifications print to the console, readable', async () => {
    const out = new PassThrough();
    let printed = '';
    out.on('data', (chunk: Buffer) => (printed += chunk.toString('utf8')));
    const notifier = h.notifier({ token: false, out });
    expect(notifier.name).toBe('console-notifier');
    await h.process([event('bucket-d', 'NON_COMPLIANT', T0, { rule: Rules.critical })]);
    await h.drainUntilSettled(notifier);
    await h.process([event('bucket-d', 'COMPLIANT', T0 + minutes(42), { rule: Rules.critical })]);
    await h.drainUntilSettled(notifier);
    expect(printed.trim().split('\n')).toEqual([
      '[slack #payments-alerts] OPEN Critical · S3 buckets do not allow public write (s3-bucket-public-write-prohibited) · payments-prod (111111111111, production) · us-east-1 · AWS::S3::Bucket bucket-d · due 2026-03-03 09:00 UTC',
      '[slack #security] OPEN Critical · S3 buckets do not allow public write (s3-bucket-public-write-prohibited) · payments-prod (111111111111, production) · us-east-1 · AWS::S3::Bucket bucket-d · due 2026-03-03 09:00 UTC',
      '[slack #payments-alerts] RESOLVED Critical · S3 buckets do not allow public write (s3-bucket-public-write-prohibited) · payments-prod (111111111111, production) · us-east-1 · AWS::S3::Bucket bucket-d (compliant again after 42m)',
      '[slack #security] RESOLVED Critical · S3 buckets do not allow public write (s3-bucket-public-write-prohibited) · payments-prod (111111111111, production) · us-east-1 · AWS::S3::Bucket bucket-d (compliant again after 42m)',
    ]);
    expect(h.slack.calls).toHaveLength(0);
    expect(await h.outboxStatuses()).toEqual({ sent: 2 });
  });
});
