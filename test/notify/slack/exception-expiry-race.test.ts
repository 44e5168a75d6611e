import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExceptionStore } from '../../../pipeline/exceptions/exception-store.ts';
import { expireExceptions } from '../../../pipeline/exceptions/exception-expiry.ts';
import type { DrainSummary } from '../../../pipeline/notify/notifier.ts';
import { complianceEvent } from '../../support/events.ts';
import { Rules, SlackHarness, nextEventId } from './slack-harness.ts';

const Day = 86_400_000;

/**
 * Issue 17, hole 4: an exception expires while the finding's "opened" alert is still pending. The expiry releases
 * the finding (the pending alert is to go out, no re-alert is queued); a notifier draining at that very moment must
 * not read the finding as still excepted and settle the alert as suppressed, or it is never alerted at all.
 */
describe('exception expiry racing the notifier', () => {
  let h: SlackHarness;
  beforeEach(async () => {
    h = await SlackHarness.start();
  });
  afterEach(async () => {
    await h?.close();
  });

  it('a notifier draining while the expiry commits neither suppresses the released alert nor loses it', async () => {
    const db = h.database.db;
    const store = new ExceptionStore(db, h.clock);
    const { exception } = await store.add({ rule: 's3-bucket-public-read-prohibited', accountId: '111111111111', until: h.clock.now() + Day, reason: 'migration', by: 'alice' });
    await h.process([complianceEvent({ id: nextEventId(), resourceId: 'bucket-race', compliance: 'NON_COMPLIANT', at: h.clock.now(), account: '111111111111', configRuleName: Rules.high })]);
    const finding = await db.selectFrom('findings').select(['finding_id', 'exception_id']).where('resource_id', '=', 'bucket-race').executeTakeFirstOrThrow();
    expect(finding.exception_id).toBe(exception.id);
    expect(await h.outboxStatuses()).toEqual({ pending: 1 });

    const notifier = h.notifier();
    const signal = new AbortController().signal;
    let during: DrainSummary | null = null;
    // The exception ends; the notifier drains between the expiry's read of the pending alert and its commit.
    const summary = await expireExceptions(db, h.clock.now() + 2 * Day, signal, {
      hooks: { beforeReleaseCommit: async () => void (during = await notifier.drainOnce(signal)) },
    });
    expect(summary).toMatchObject({ released: 1, realerted: 0 });
    expect(during).toMatchObject({ suppressed: 0 });

    await h.drainUntilSettled(notifier);
    const alerts = h.slack.messages('#payments-alerts');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.text).toMatch(/^OPEN High/);
    expect(await h.outboxStatuses()).toEqual({ sent: 1 });
    expect((await db.selectFrom('findings').select('exception_id').where('finding_id', '=', finding.finding_id).executeTakeFirstOrThrow()).exception_id).toBeNull();
  });
});
