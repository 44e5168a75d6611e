import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { complianceEvent } from '../../support/events.ts';
import type { ComplianceType } from '../../../schemas/compliance-change-event.ts';
import type { Notifier } from '../../../pipeline/notify/notifier.ts';
import { findingFromRow } from '../../../pipeline/store/postgres-evaluation-state-store.ts';
import { Rules, SlackHarness, T0, minutes, nextEventId } from './slack-harness.ts';

const Owners = [
  { account: '111111111111', channel: '#payments-alerts' },
  { account: '222222222222', channel: '#identity-alerts' },
  { account: '333333333333', channel: '#search-alerts' },
  { account: '444444444444', channel: '#ads-alerts' },
] as const;
const Regions = ['us-east-1', 'eu-west-1', 'ap-northeast-1', 'us-west-2'] as const;
const Total = 5_000;

const rollout = (i: number, compliance: ComplianceType, at: number) =>
  complianceEvent({
    id: nextEventId(),
    resourceId: `bucket-rollout-${String(i).padStart(5, '0')}`,
    compliance,
    at,
    account: Owners[i % Owners.length]!.account,
    region: Regions[Math.floor(i / Owners.length) % Regions.length]!,
    configRuleName: Rules.critical,
  });

describe('a rule rollout opening 5,000 findings', () => {
  let h: SlackHarness;
  let notifier: Notifier;
  beforeAll(async () => {
    h = await SlackHarness.start();
    notifier = h.notifier();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('posts one digest per channel instead of 5,000 messages', async () => {
    for (let i = 0; i < Total; i += 1_000) await h.process(Array.from({ length: 1_000 }, (_, j) => rollout(i + j, 'NON_COMPLIANT', T0)));
    const totals = await h.drainUntilSettled(notifier);
    expect(totals).toMatchObject({ sent: Total, failed: 0, posted: 0, digested: Total * 2, digestsPosted: 5 });
    const messages = h.slack.messages();
    expect(messages).toHaveLength(5); // 4 owner channels + security, one digest each
    // Posted as soon as the flood was seen, then brought up to date once the update interval passed.
    h.clock.advance(16_000);
    expect(await notifier.drainOnce(new AbortController().signal)).toMatchObject({ claimed: 0, digestsUpdated: 5 });
    const [security] = h.slack.messages('#security');
    expect(security!.blocks?.[0]).toMatchObject({ type: 'header', text: { text: ':ocean: 5,000 new findings · S3 buckets do not allow public write' } });
    const text = JSON.stringify(security!.blocks);
    expect(text).toContain('*Open:* 5,000    *Resolved:* 0');
    expect(text).toContain('payments-prod (`111111111111`): 1250 / 1250');
    expect(text).toContain('us-east-1: 1252 / 1252');
    expect(text).toContain('ap-northeast-1: 1248 / 1248');
    expect(text).toMatch(/Oldest open resources\*\\n• AWS::S3::Bucket `bucket-rollout-\d{5}`/);
    expect(text).toContain('driftwatch findings --rule s3-bucket-public-write-prohibited --status open');
    for (const { channel } of Owners) {
      const [digest] = h.slack.messages(channel);
      expect(digest!.text).toBe('1250 new findings of s3-bucket-public-write-prohibited (Critical): 1250 open, 0 resolved');
    }
  });

  it('keeps the digests up to date as findings resolve, at most once per update interval', async () => {
    // 1,000 fixes in the payments account (every 4th resource).
    const fixed = Array.from({ length: 1_000 }, (_, k) => rollout(k * 4, 'COMPLIANT', T0 + minutes(30)));
    await h.process(fixed);
    const totals = await h.drainUntilSettled(notifier);
    expect(totals).toMatchObject({ sent: 1_000, posted: 0, updated: 0 });
    expect(h.slack.messages()).toHaveLength(5);

    const updatesBefore = h.slack.calls.filter((c) => c.method === 'chat.update').length;
    h.clock.advance(16_000); // past SLACK_DIGEST_UPDATE_MS (15 s)
    const flush = await notifier.drainOnce(new AbortController().signal);
    expect(flush.digestsUpdated).toBe(2); // security and payments; the other digests did not change
    const [security] = h.slack.messages('#security');
    expect(JSON.stringify(security!.blocks)).toContain('*Open:* 4,000    *Resolved:* 1,000');
    const [payments] = h.slack.messages('#payments-alerts');
    expect(payments!.text).toBe('1250 new findings of s3-bucket-public-write-prohibited (Critical): 250 open, 1000 resolved');
    expect(payments!.edits).toHaveLength(2);
    expect(h.slack.calls.filter((c) => c.method === 'chat.update').length - updatesBefore).toBe(2);
  });

  it('a late finding of the same rule joins the open digest; once the flood is over, alerts are individual again', async () => {
    await h.process([rollout(Total, 'NON_COMPLIANT', T0 + minutes(31))]);
    await h.drainUntilSettled(notifier);
    expect(h.slack.messages()).toHaveLength(5);

    h.clock.advance(minutes(6)); // the digest window (5 min since its last member) has passed
    await h.process([rollout(Total + 1, 'NON_COMPLIANT', T0 + minutes(40))]);
    const totals = await h.drainUntilSettled(notifier);
    expect(totals).toMatchObject({ posted: 2, digested: 0 }); // owner channel + security
    const [security] = h.slack.messages('#security');
    expect(JSON.stringify(security!.blocks)).toContain('*Open:* 4,001    *Resolved:* 1,000');
    expect(h.slack.messages()).toHaveLength(7);
  });

  it('a wave of escalations (deadlines of a rollout passing together) becomes a digest too', async () => {
    const due = await h.database.db.selectFrom('findings').selectAll().where('status', '=', 'open').where('account_id', '=', '111111111111').orderBy('finding_id').limit(30).execute();
    await h.database.db
      .insertInto('notification_outbox')
      .values(due.map((row) => ({
        intent_id: `${row.finding_id}:finding.escalated:0`,
        finding_id: row.finding_id,
        kind: 'finding.escalated',
        payload: JSON.stringify({ kind: 'finding.escalated', finding: findingFromRow(row), escalation: { reminder: false, count: 0, at: T0 + minutes(24 * 60) } }),
      })))
      .execute();
    const before = h.slack.messages().length;
    expect(await h.drainUntilSettled(notifier)).toMatchObject({ sent: 30, posted: 0, digested: 60, digestsPosted: 2 });
    expect(h.slack.messages()).toHaveLength(before + 2);
    const security = h.slack.messages('#security').at(-1)!;
    expect(security.blocks?.[0]).toMatchObject({ text: { text: ':alarm_clock: 30 findings past their deadline · S3 buckets do not allow public write' } });
    expect(h.slack.messages('#payments-alerts').at(-1)!.text).toBe('30 findings past their deadline of s3-bucket-public-write-prohibited (Critical): 30 open, 0 resolved');
  });
});
