import { setTimeout as sleep } from 'node:timers/promises';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboxListener, OutboxListenerApplicationName } from '../../pipeline/notify/outbox-listener.ts';
import { wakeOutbox, wakeOutboxAfterCommit } from '../../pipeline/notify/outbox-wakeup.ts';
import { complianceEvent } from '../support/events.ts';
import { Rules, SlackHarness, T0, nextEventId } from './slack/slack-harness.ts';

/** Polls `condition` every 20 ms for up to `timeoutMs` (real time); false when it never held. */
async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await sleep(20);
  }
  return condition();
}

/** Resolves true when `listener` wakes within `ms`, false when it does not (the wait is abandoned). */
async function wokenWithin(listener: OutboxListener, ms: number): Promise<boolean> {
  const give = new AbortController();
  const timer = setTimeout(() => give.abort(), ms);
  try {
    await listener.wait(give.signal);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

describe('outbox wake-up: LISTEN/NOTIFY from the state commit to the notifier', () => {
  let h: SlackHarness;
  beforeAll(async () => {
    h = await SlackHarness.start({ slack: { now: Date.now } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('wakes on a commit, not on a rollback, and listens again after its connection is killed', async () => {
    const listener = new OutboxListener({ connectionString: h.database.url, logger: pino({ level: 'silent' }), reconnect: { baseMs: 50, maxMs: 200 } });
    const stop = new AbortController();
    const running = listener.run(stop.signal);
    try {
      expect(await eventually(() => listener.listening)).toBe(true);
      expect(listener.connections).toBe(1);

      listener.consume();
      await h.database.db
        .transaction()
        .execute(async (trx) => {
          await wakeOutbox(trx);
          throw new Error('roll back');
        })
        .catch(() => undefined);
      expect(await wokenWithin(listener, 500)).toBe(false);

      await h.database.db.transaction().execute(async (trx) => wakeOutbox(trx));
      expect(await wokenWithin(listener, 2_000)).toBe(true);

      // The server drops the connection (restart, failover, an operator's pg_terminate_backend).
      const killed = await sql<{ pid: number }>`
        select pg_terminate_backend(pid) as pid from pg_stat_activity
        where application_name = ${OutboxListenerApplicationName} and datname = current_database()`.execute(h.database.db);
      expect(killed.rows).toHaveLength(1);
      expect(await eventually(() => listener.connections === 2 && listener.listening)).toBe(true);

      listener.consume();
      await h.database.db.transaction().execute(async (trx) => wakeOutbox(trx));
      expect(await wokenWithin(listener, 2_000)).toBe(true);
    } finally {
      stop.abort();
      await running;
    }
    expect(listener.listening).toBe(false);
  });

  it('wakes after a commit in a transaction of its own, asynchronously committed, leaving the session as it was', async () => {
    const listener = new OutboxListener({ connectionString: h.database.url, logger: pino({ level: 'silent' }) });
    // One connection: the statement after the wake-up runs in the same session.
    const single = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: h.database.url, max: 1 }) }) });
    const stop = new AbortController();
    const running = listener.run(stop.signal);
    try {
      expect(await eventually(() => listener.listening)).toBe(true);
      listener.consume();
      await wakeOutboxAfterCommit(single);
      expect(await wokenWithin(listener, 2_000)).toBe(true);
      // synchronous_commit was off for the wake-up's own transaction only.
      const setting = await sql<{ synchronous_commit: string }>`show synchronous_commit`.execute(single);
      expect(setting.rows[0]?.synchronous_commit).toBe('on');
    } finally {
      stop.abort();
      await running;
      await single.destroy();
    }
  });

  it('a commit is posted within seconds although the poll interval is 60 s', async () => {
    const listener = new OutboxListener({ connectionString: h.database.url, logger: pino({ level: 'silent' }) });
    const notifier = h.notifier({ realTime: true, wakeup: listener, config: { pollIntervalMs: 60_000, channelIntervalMs: 0 } });
    const stop = new AbortController();
    const listening = listener.run(stop.signal);
    expect(await eventually(() => listener.listening)).toBe(true);
    await notifier.init(stop.signal);
    const running = notifier.run(stop.signal);
    try {
      // The first drain finds nothing; the loop is now in its 60 s wait.
      await sleep(500);
      const before = h.slack.messages().length;
      const committed = Date.now();
      await h.process([complianceEvent({ id: nextEventId(), resourceId: 'bucket-wakeup-1', compliance: 'NON_COMPLIANT', at: T0, account: '111111111111', configRuleName: Rules.high })]);
      const messages = await h.slack.waitForMessages(before + 1, { channel: '#payments-alerts', timeoutMs: 5_000 });
      expect(Date.now() - committed).toBeLessThan(5_000);
      expect(messages.at(-1)?.text).toMatch(/^OPEN/);
      // Settled once Slack confirmed, right after the post.
      expect(await eventually(async () => (await h.outboxStatuses()).sent === 1, 2_000)).toBe(true);
    } finally {
      stop.abort();
      await Promise.all([running, listening]);
    }
  });
});
