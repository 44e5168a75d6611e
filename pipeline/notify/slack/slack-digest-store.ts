import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../../store/database-schema.ts';
import { leaseInterval } from '../outbox-store.ts';
import type { DigestTally } from './message-format.ts';
import { deliveryRow } from './slack-message-store.ts';
import type { NewDelivery } from './slack-message-store.ts';
import type { DigestKind, SlackDigestsTable, SlackNotifierTables } from './slack-tables.ts';

export type DigestRow = Selectable<SlackDigestsTable>;

/** What a digest's members add up to, with the rule's title and severity as the findings recorded them. */
export interface DigestMembersSummary extends DigestTally {
  readonly ruleTitle: string | null;
  readonly severity: string | null;
}

const ListLimit = 8;

/**
 * slack_digests: the messages that stand for floods, and their claims. Members are slack_messages rows
 * (role digest-member) written in the same transaction as the digest they join.
 */
export class SlackDigestStore {
  readonly #db: Kysely<Database & SlackNotifierTables>;

  constructor(db: Kysely<Database>) {
    this.#db = db.withTables<SlackNotifierTables>();
  }

  /** The digest still collecting new findings for this channel, rule and kind, if any. */
  async openDigest(channel: string, rule: string, kind: DigestKind, now: number): Promise<DigestRow | null> {
    const row = await this.#db
      .selectFrom('slack_digests')
      .selectAll()
      .where((eb) => eb.and({ channel, rule, kind, open: true }))
      .where('active_until', '>', new Date(now))
      .executeTakeFirst();
    return row ?? null;
  }

  /**
   * Folds deliveries into the open digest of their channel, rule and kind (opening one if needed) in one transaction.
   * A unique index allows one open digest per channel, rule and kind, so two notifiers in the same flood share it.
   */
  async joinDigest(channel: string, rule: string, kind: DigestKind, members: readonly NewDelivery[], now: number, windowMs: number): Promise<string> {
    const at = new Date(now);
    const until = new Date(now + windowMs);
    return this.#db.transaction().execute(async (trx) => {
      await trx
        .updateTable('slack_digests')
        .set({ open: false, updated_at: at })
        .where((eb) => eb.and({ channel, rule, kind, open: true }))
        .where('active_until', '<=', at)
        .execute();
      await trx
        .insertInto('slack_digests')
        .values({ digest_id: `digest-${randomUUID()}`, channel, rule, kind, started_at: at, active_until: until, created_at: at, updated_at: at })
        .onConflict((oc) => oc.columns(['channel', 'rule', 'kind']).where('open', '=', true).doNothing())
        .execute();
      const digest = await trx
        .updateTable('slack_digests')
        .set((eb) => ({ active_until: until, version: eb('version', '+', 1), updated_at: at }))
        .where((eb) => eb.and({ channel, rule, kind, open: true }))
        .returning('digest_id')
        .executeTakeFirstOrThrow();
      await insertMembers(trx, members, digest.digest_id, at);
      return digest.digest_id;
    });
  }

  /** Adds deliveries to a known digest (a flapping member rejoins the digest it came from). */
  async joinExistingDigest(digestId: string, members: readonly NewDelivery[], now: number): Promise<void> {
    const at = new Date(now);
    await this.#db.transaction().execute(async (trx) => {
      await insertMembers(trx, members, digestId, at);
      await trx.updateTable('slack_digests').set((eb) => ({ version: eb('version', '+', 1), updated_at: at })).where('digest_id', '=', digestId).execute();
    });
  }

  /** A member changed (resolved): the digest message is stale. */
  async touchDigests(digestIds: readonly string[], now: number): Promise<void> {
    if (digestIds.length === 0) return;
    await this.#db
      .updateTable('slack_digests')
      .set((eb) => ({ version: eb('version', '+', 1), updated_at: new Date(now) }))
      .where('digest_id', 'in', [...new Set(digestIds)])
      .execute();
  }

  async digests(digestIds: readonly string[]): Promise<Map<string, DigestRow>> {
    if (digestIds.length === 0) return new Map();
    const rows = await this.#db.selectFrom('slack_digests').selectAll().where('digest_id', 'in', [...new Set(digestIds)]).execute();
    return new Map(rows.map((row) => [row.digest_id, row]));
  }

  /**
   * Digests to post (not posted yet, due at `now` on this notifier's clock, and not claimed by a live notifier on
   * the database's clock) or to update (stale and not rendered within `updateMs`).
   */
  async digestsDue(now: number, updateMs: number, limit: number): Promise<DigestRow[]> {
    const at = new Date(now);
    return this.#db
      .selectFrom('slack_digests')
      .selectAll()
      .where((eb) =>
        eb.or([
          eb.and([
            eb('state', 'in', ['pending', 'sending']),
            eb.or([eb('available_at', 'is', null), eb('available_at', '<=', at)]),
            eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', sql<Date>`now()`)]),
          ]),
          eb.and([
            eb('state', '=', 'posted'),
            eb('version', '>', eb.ref('rendered_version')),
            eb.or([eb('rendered_at', 'is', null), eb('rendered_at', '<=', new Date(now - updateMs))]),
          ]),
        ]),
      )
      .orderBy('created_at')
      .limit(limit)
      .execute();
  }

  /**
   * Claim before send for a digest's first post, for `leaseMs` on the database's clock; returns the row as it was
   * before the claim (its `state` says whether an earlier post may have landed) if `owner` won it.
   */
  async claimDigestPost(digestId: string, owner: string, now: number, leaseMs: number): Promise<DigestRow | null> {
    const at = new Date(now);
    return this.#db.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom('slack_digests')
        .selectAll()
        .where('digest_id', '=', digestId)
        .where('state', 'in', ['pending', 'sending'])
        .where((eb) => eb.or([eb('available_at', 'is', null), eb('available_at', '<=', at)]))
        .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', sql<Date>`now()`)]))
        .forUpdate()
        .skipLocked()
        .executeTakeFirst();
      if (!row) return null;
      await trx
        .updateTable('slack_digests')
        .set({ state: 'sending', claimed_by: owner, claimed_until: sql`now() + ${leaseInterval(leaseMs)}::interval`, updated_at: at })
        .where('digest_id', '=', digestId)
        .execute();
      return row;
    });
  }

  /** Extends `owner`'s claim on a digest being posted; false when the claim was lost (it lapsed and was taken). */
  async renewDigestClaim(digestId: string, owner: string, leaseMs: number): Promise<boolean> {
    const row = await this.#db
      .updateTable('slack_digests')
      .set({ claimed_until: sql`now() + ${leaseInterval(leaseMs)}::interval` })
      .where((eb) => eb.and({ digest_id: digestId, state: 'sending', claimed_by: owner }))
      .returning('digest_id')
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Records the digest's message; only while `owner` holds the claim (else the notifier that took it adopts it). */
  async completeDigestPost(digestId: string, owner: string, channelId: string, ts: string, renderedVersion: number, now: number): Promise<boolean> {
    const at = new Date(now);
    const row = await this.#db
      .updateTable('slack_digests')
      .set((eb) => ({
        state: 'posted',
        channel_id: channelId,
        ts,
        claimed_by: null,
        claimed_until: null,
        available_at: null,
        rendered_version: eb.fn('greatest', [eb.ref('rendered_version'), eb.val(renderedVersion)]),
        rendered_at: at,
        updated_at: at,
      }))
      .where((eb) => eb.and({ digest_id: digestId, state: 'sending', claimed_by: owner }))
      .returning('digest_id')
      .executeTakeFirst();
    return row !== undefined;
  }

  /**
   * The first post failed: back to `pending` if Slack surely has nothing, `sending` if it may (look before posting
   * again), due again at `retryAt` (the notifier's clock); the claim is given up.
   */
  async retryDigestPost(digestId: string, owner: string, state: 'pending' | 'sending', retryAt: number): Promise<void> {
    await this.#db
      .updateTable('slack_digests')
      .set({ state, claimed_by: null, claimed_until: null, available_at: new Date(retryAt), updated_at: new Date() })
      .where((eb) => eb.and({ digest_id: digestId, state: 'sending', claimed_by: owner }))
      .execute();
  }

  async markDigestRendered(digestId: string, renderedVersion: number, now: number): Promise<void> {
    const at = new Date(now);
    await this.#db
      .updateTable('slack_digests')
      .set((eb) => ({ rendered_version: eb.fn('greatest', [eb.ref('rendered_version'), eb.val(renderedVersion)]), rendered_at: at, updated_at: at }))
      .where('digest_id', '=', digestId)
      .execute();
  }

  /** An update failed: try again after the update interval rather than at every drain. */
  async postponeDigestUpdate(digestId: string, now: number): Promise<void> {
    await this.#db.updateTable('slack_digests').set({ rendered_at: new Date(now) }).where('digest_id', '=', digestId).execute();
  }

  /** Counts by account and region and the oldest open resources of a digest's findings. */
  async digestSummary(digestId: string): Promise<DigestMembersSummary> {
    const base = this.#db
      .with('members', (db) => db.selectFrom('slack_messages').select('finding_id').distinct().where('digest_id', '=', digestId).where('role', '=', 'digest-member'))
      .selectFrom('members')
      .innerJoin('findings as f', 'f.finding_id', 'members.finding_id');
    const openCount = (eb: any) => eb.fn.sum(eb.case().when('f.status', '=', 'open').then(1).else(0).end());
    const [totals, byAccount, byRegion, top] = await Promise.all([
      base
        .select((eb) => [
          eb.fn.countAll<string>().as('total'),
          openCount(eb).as('open'),
          eb.fn.count<string>('f.account_id').distinct().as('accounts'),
          eb.fn.count<string>('f.region').distinct().as('regions'),
          eb.fn.max('f.rule_title').as('rule_title'),
          eb.fn.max('f.severity').as('severity'),
        ])
        .executeTakeFirstOrThrow(),
      base
        .select((eb) => ['f.account_id', eb.fn.max('f.account_name').as('account_name'), eb.fn.countAll<string>().as('total'), openCount(eb).as('open')])
        .groupBy('f.account_id')
        .orderBy('total', 'desc')
        .orderBy('f.account_id')
        .limit(ListLimit)
        .execute(),
      base
        .select((eb) => ['f.region', eb.fn.countAll<string>().as('total'), openCount(eb).as('open')])
        .groupBy('f.region')
        .orderBy('total', 'desc')
        .orderBy('f.region')
        .limit(ListLimit)
        .execute(),
      base
        .select(['f.resource_type', 'f.resource_id', 'f.account_name', 'f.region'])
        .where('f.status', '=', 'open')
        .orderBy('f.opened_at')
        .orderBy('f.finding_id')
        .limit(10)
        .execute(),
    ]);
    return {
      ruleTitle: (totals.rule_title as string | null) ?? null,
      severity: (totals.severity as string | null) ?? null,
      total: Number(totals.total),
      open: Number(totals.open ?? 0),
      accounts: Number(totals.accounts),
      regions: Number(totals.regions),
      byAccount: byAccount.map((r) => ({ accountId: r.account_id, accountName: String(r.account_name), total: Number(r.total), open: Number(r.open ?? 0) })),
      byRegion: byRegion.map((r) => ({ region: r.region, total: Number(r.total), open: Number(r.open ?? 0) })),
      topResources: top.map((r) => ({ resourceType: r.resource_type, resourceId: r.resource_id, accountName: r.account_name, region: r.region })),
    };
  }
}

async function insertMembers(trx: Kysely<Database & SlackNotifierTables>, members: readonly NewDelivery[], digestId: string, at: Date): Promise<void> {
  for (let i = 0; i < members.length; i += 1_000) {
    const chunk = members.slice(i, i + 1_000);
    await trx
      .insertInto('slack_messages')
      .values(chunk.map((m) => ({ ...deliveryRow(m), role: 'digest-member' as const, state: 'posted' as const, digest_id: digestId, created_at: at, updated_at: at })))
      .onConflict((oc) => oc.column('post_key').doNothing())
      .execute();
  }
}
