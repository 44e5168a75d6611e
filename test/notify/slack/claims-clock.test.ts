import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import type { ComplianceType } from '../../../schemas/compliance-change-event.ts';
import type { DrainSummary } from '../../../pipeline/notify/notifier.ts';
import { OutboxStore } from '../../../pipeline/notify/outbox-store.ts';
import { complianceEvent } from '../../support/events.ts';
import { Rules, SlackHarness, T0, minutes, nextEventId } from './slack-harness.ts';

const event = (resourceId: string, compliance: ComplianceType, rule: string = Rules.high) =>
  complianceEvent({ id: nextEventId(), resourceId, compliance, at: T0, account: '111111111111', configRuleName: rule });
const isDigest = (text: string | undefined) => /new findings of/.test(text ?? '');

/**
 * Issue 17, hole 3: outbox and digest claims run on the database's clock and live claims are renewed, so a second
 * notifier never takes over work the first one is still doing (whatever their clocks say, however long it waits).
 */
describe('notifier claims: database clock and renewal', () => {
  let h: SlackHarness;
  const signal = new AbortController().signal;
  beforeEach(async () => {
    h = await SlackHarness.start();
  });
  afterEach(async () => {
    await h?.close();
  });

  it('a notifier whose clock runs 10 minutes ahead does not take the live claims of another (no alert twice)', async () => {
    await h.process([event('bucket-skew', 'NON_COMPLIANT')]);
    const ahead = h.notifier({ owner: 'notifier-ahead', clockSkewMs: minutes(10) });
    let during: DrainSummary | undefined;
    // The other notifier drains while the first is between its claim and its post.
    const first = h.notifier({ owner: 'notifier-first', hooks: { afterClaim: async () => void (during ??= await ahead.drainOnce(signal)) } });
    expect(await first.drainOnce(signal)).toMatchObject({ claimed: 1, sent: 1, posted: 1 });
    expect(during).toMatchObject({ claimed: 0, posted: 0 });
    expect(h.slack.messages()).toHaveLength(1);
    expect(await h.outboxStatuses()).toEqual({ sent: 1 });
  });

  it('a digest claimed before a long Retry-After is not posted by a second notifier while the first waits it out', async () => {
    const config = { floodThreshold: 2 };
    // One alert of its own in #payments-alerts, then a flood of another rule there (a digest).
    await h.process([event('bucket-solo', 'NON_COMPLIANT', Rules.medium), ...[1, 2, 3].map((i) => event(`bucket-flood-${i}`, 'NON_COMPLIANT'))]);
    // Slack answers the alert with Retry-After 300 s: the channel waits, and the digest claimed after it waits too.
    h.slack.failNext(1, 429, { methods: ['chat.postMessage'], retryAfterSeconds: 300 });
    const second = h.notifier({ owner: 'notifier-second', config });
    let during: DrainSummary | undefined;
    const first = h.notifier({ owner: 'notifier-first', config, onSleep: async (ms) => void (ms >= 200_000 && (during ??= await second.drainOnce(signal))) });
    const summary = await first.drainOnce(signal);

    expect(during, 'the first notifier never waited out the Retry-After').toBeDefined();
    expect(during).toMatchObject({ digestsPosted: 0 });
    expect(summary).toMatchObject({ digestsPosted: 1 });
    const digests = h.slack.messages('#payments-alerts').filter((m) => isDigest(m.text));
    expect(digests).toHaveLength(1);
    await h.drainUntilSettled(second);
    expect(h.slack.messages('#payments-alerts').filter((m) => isDigest(m.text))).toHaveLength(1);
    expect(h.slack.messages('#payments-alerts')).toHaveLength(2); // the solo alert, once, and the digest
  });

  it('renews a digest claim while the post is on its way, past the lease it was taken with', async () => {
    const leaseMs = 3_000;
    const config = { floodThreshold: 2, leaseMs };
    await h.process([1, 2, 3].map((i) => event(`bucket-renew-${i}`, 'NON_COMPLIANT')));
    const db = h.database.db;
    const second = h.notifier({ owner: 'notifier-second', config });
    let during: DrainSummary | undefined;
    const first = h.notifier({
      owner: 'notifier-first',
      config,
      hooks: {
        afterDigestClaim: async (digestId) => {
          const claim = await sql<{ until: Date }>`select claimed_until as until from slack_digests where digest_id = ${digestId}`.execute(db);
          const taken = claim.rows[0]!.until;
          // Rendering and pacing outlast the lease the claim was taken with (real time: claims use the database clock).
          for (;;) {
            const { rows } = await sql<{ past: boolean }>`select now() > ${taken}::timestamptz + interval '500 milliseconds' as past`.execute(db);
            if (rows[0]!.past) break;
            await new Promise((r) => setTimeout(r, 50));
          }
          during = await second.drainOnce(signal);
        },
      },
    });
    expect(await first.drainOnce(signal)).toMatchObject({ digestsPosted: 1 });
    expect(during).toMatchObject({ digestsPosted: 0 });
    expect(h.slack.messages('#payments-alerts').filter((m) => isDigest(m.text))).toHaveLength(1);
  }, 20_000);

  it('renews outbox claims on the database clock and tells a notifier which claims it lost', async () => {
    await h.process([event('bucket-a', 'NON_COMPLIANT'), event('bucket-b', 'NON_COMPLIANT')]);
    const db = h.database.db;
    const a = new OutboxStore(db, 'notifier-a');
    // The claimer's clock is a day behind: that moves when intents are due, never how long a claim lasts.
    const claimed = await a.claim(10, Date.now() + 86_400_000, 1_000);
    expect(claimed).toHaveLength(2);
    const left = async () => Number((await sql<{ ms: string }>`select extract(epoch from min(claimed_until) - now()) * 1000 as ms from notification_outbox`.execute(db)).rows[0]!.ms);
    expect(await left()).toBeGreaterThan(0);
    expect(await left()).toBeLessThanOrEqual(1_000);
    expect(await a.renew(claimed.map((c) => c.intentId), 60_000)).toEqual(new Set(claimed.map((c) => c.intentId)));
    expect(await left()).toBeGreaterThan(50_000);

    // One claim lapses and another notifier takes it: the next renewal reports only the one still held.
    const [kept, taken] = claimed;
    await sql`update notification_outbox set claimed_until = now() - interval '1 second' where intent_id = ${taken!.intentId}`.execute(db);
    expect((await new OutboxStore(db, 'notifier-b').claim(10, Date.now() + 86_400_000, 60_000)).map((c) => c.intentId)).toEqual([taken!.intentId]);
    expect(await a.renew([kept!.intentId, taken!.intentId], 60_000)).toEqual(new Set([kept!.intentId]));
  });
});
