import { sql } from 'kysely';
import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../store/database-schema.ts';
import type { OutboxTables } from './outbox-tables.ts';

/** One claimed notification intent. */
export interface ClaimedIntent {
  readonly intentId: string;
  readonly findingId: string;
  readonly kind: string;
  readonly payload: unknown;
  /** Claims so far, this one included. */
  readonly attempts: number;
  readonly seq: string;
}

/** The row as the claim statement returns it (int8 as text, json payload as parsed or as text). */
type ClaimedRow = Pick<Selectable<OutboxTables['notification_outbox']>, 'intent_id' | 'finding_id' | 'kind' | 'payload' | 'attempts' | 'seq'>;

/**
 * The notifier's side of notification_outbox. A claim is a lease (claimed_by, claimed_until): a notifier that dies
 * leaves claims that expire and are claimed again. Intents of one evaluation key are claimed strictly in order,
 * one at a time, so a "resolved" never overtakes its "opened" (ordering_key, seq from migration 0002).
 *
 * Claims run on the database's clock, as shard leases do: a notifier whose clock runs behind another's must not see
 * that one's live claims as expired. `available_at` (when a deferred intent is due again) stays on the notifier's
 * clock: a skew there only moves a retry, it never lets two notifiers hold one intent.
 */
export class OutboxStore {
  readonly #db: Kysely<Database & OutboxTables>;
  readonly #owner: string;

  constructor(db: Kysely<Database>, owner: string) {
    this.#db = db.withTables<OutboxTables>();
    this.#owner = owner;
  }

  get owner(): string {
    return this.#owner;
  }

  /**
   * Claims up to `limit` intents due at `now` (this notifier's clock), oldest first, skipping rows another notifier
   * holds (FOR UPDATE SKIP LOCKED) or whose claim has not expired (database clock), for `leaseMs`.
   */
  async claim(limit: number, now: number, leaseMs: number): Promise<ClaimedIntent[]> {
    const at = new Date(now);
    const result = await sql<ClaimedRow>`
      update notification_outbox
      set status = 'claimed', claimed_by = ${this.#owner}, claimed_until = now() + ${leaseInterval(leaseMs)}::interval, attempts = attempts + 1
      where intent_id in (
        select o.intent_id from notification_outbox o
        where ((o.status = 'pending' and o.available_at <= ${at}) or (o.status = 'claimed' and o.claimed_until < now()))
          and not exists (
            select 1 from notification_outbox p
            where p.ordering_key = o.ordering_key and p.seq < o.seq and p.status in ('pending', 'claimed'))
        order by o.seq
        limit ${limit}
        for update skip locked)
      returning intent_id, finding_id, kind, payload, attempts, seq`.execute(this.#db);
    return result.rows
      .map((row) => ({
        intentId: row.intent_id,
        findingId: row.finding_id,
        kind: row.kind,
        payload: typeof row.payload === 'string' ? (JSON.parse(row.payload) as unknown) : row.payload,
        attempts: Number(row.attempts),
        seq: String(row.seq),
      }))
      .sort((a, b) => compareSeq(a.seq, b.seq));
  }

  /**
   * Extends this notifier's claims by `leaseMs` from now (database clock) while a long drain (paced at ~1 message/s
   * per channel) is still working; returns the ids it still holds (a claim that lapsed may have been taken).
   */
  async renew(intentIds: readonly string[], leaseMs: number): Promise<Set<string>> {
    if (intentIds.length === 0) return new Set();
    const rows = await this.#db
      .updateTable('notification_outbox')
      .set({ claimed_until: sql`now() + ${leaseInterval(leaseMs)}::interval` })
      .where('intent_id', 'in', intentIds)
      .where('status', '=', 'claimed')
      .where('claimed_by', '=', this.#owner)
      .returning('intent_id')
      .execute();
    return new Set(rows.map((row) => row.intent_id));
  }

  /** Settles intents for good: sent, suppressed (nothing to say) or failed (can never be delivered). */
  async complete(intentIds: readonly string[], status: 'sent' | 'suppressed' | 'failed', now: number, reason: string | null = null): Promise<number> {
    if (intentIds.length === 0) return 0;
    const result = await this.#db
      .updateTable('notification_outbox')
      .set({ status, completed_at: new Date(now), claimed_until: null, last_error: reason })
      .where('intent_id', 'in', intentIds)
      .where('status', '=', 'claimed')
      .where('claimed_by', '=', this.#owner)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Puts an intent back to be claimed again at `availableAt` (rate limited, Slack down, drain stopped). */
  async release(intentIds: readonly string[], availableAt: number, reason: string | null): Promise<void> {
    if (intentIds.length === 0) return;
    await this.#db
      .updateTable('notification_outbox')
      .set({ status: 'pending', available_at: new Date(availableAt), claimed_by: null, claimed_until: null, last_error: reason })
      .where('intent_id', 'in', intentIds)
      .where('status', '=', 'claimed')
      .where('claimed_by', '=', this.#owner)
      .execute();
  }

  /**
   * Intents not yet settled, and when the next one becomes claimable on the caller's clock (null when none): only
   * the first unsettled intent of each evaluation key counts, the ones behind it wait for it whatever their own time
   * says. A claim's expiry (database clock) is carried over to the caller's clock.
   */
  async backlog(now: number = Date.now()): Promise<{ readonly unsettled: number; readonly nextDueAt: number | null }> {
    const count = await this.#db
      .selectFrom('notification_outbox')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('status', 'in', ['pending', 'claimed'])
      .executeTakeFirstOrThrow();
    const heads = await sql<{ due: Date | string | null }>`
      select min(due) as due from (
        select distinct on (ordering_key) case when status = 'claimed' then ${new Date(now)}::timestamptz + (claimed_until - now()) else available_at end as due
        from notification_outbox
        where status in ('pending', 'claimed')
        order by ordering_key, seq
      ) heads`.execute(this.#db);
    const due = heads.rows[0]?.due ?? null;
    return { unsettled: Number(count.n), nextDueAt: due === null ? null : new Date(due).getTime() };
  }
}

function compareSeq(a: string, b: string): number {
  return a.length === b.length ? (a < b ? -1 : a > b ? 1 : 0) : a.length - b.length;
}

/** A lease length as a Postgres interval literal. */
export function leaseInterval(ms: number): string {
  return `${Math.max(0, Math.round(ms))} milliseconds`;
}
