import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../../store/database-schema.ts';
import type { SlackMessageRole, SlackMessagesTable, SlackNotifierTables } from './slack-tables.ts';

export type MessageRow = Selectable<SlackMessagesTable>;

/** A row about to be written for one delivery (intent × channel). */
export interface NewDelivery {
  readonly postKey: string;
  readonly intentId: string;
  readonly findingId: string;
  readonly evaluationKey: string | null;
  readonly rule: string | null;
  readonly channel: string;
  readonly role: SlackMessageRole;
  readonly threadTs: string | null;
  readonly flaps: number;
  readonly shows: string | null;
}

/** The previous message of an evaluation key in a channel, with the state of the finding it belonged to. */
export interface PreviousMessage extends MessageRow {
  readonly finding_status: string;
  readonly finding_resolved_at: Date | null;
}

/** slack_messages: where each alert lives in Slack (channel and ts), or the digest it joined. */
export class SlackMessageStore {
  readonly #db: Kysely<Database & SlackNotifierTables>;

  constructor(db: Kysely<Database>) {
    this.#db = db.withTables<SlackNotifierTables>();
  }

  async byPostKeys(postKeys: readonly string[]): Promise<Map<string, MessageRow>> {
    if (postKeys.length === 0) return new Map();
    const rows = await this.#db.selectFrom('slack_messages').selectAll().where('post_key', 'in', [...new Set(postKeys)]).execute();
    return new Map(rows.map((row) => [row.post_key, row]));
  }

  /** Every delivery row of these findings, oldest first. */
  async forFindings(findingIds: readonly string[]): Promise<MessageRow[]> {
    if (findingIds.length === 0) return [];
    return this.#db
      .selectFrom('slack_messages')
      .selectAll()
      .where('finding_id', 'in', [...new Set(findingIds)])
      .orderBy('created_at')
      .orderBy('post_key')
      .execute();
  }

  /** Alert and digest-member rows of these evaluation keys (any finding), oldest first, with their finding's state. */
  async previousForKeys(evaluationKeys: readonly string[]): Promise<PreviousMessage[]> {
    if (evaluationKeys.length === 0) return [];
    const rows = await this.#db
      .selectFrom('slack_messages as m')
      .innerJoin('findings as f', 'f.finding_id', 'm.finding_id')
      .selectAll('m')
      .select(['f.status as finding_status', 'f.resolved_at as finding_resolved_at'])
      .where('m.evaluation_key', 'in', [...new Set(evaluationKeys)])
      .where('m.role', 'in', ['alert', 'digest-member'])
      .orderBy('m.created_at')
      .orderBy('m.post_key')
      .execute();
    return rows as PreviousMessage[];
  }

  /** Channel ids learnt from earlier posts (conversations.history needs an id, chat.postMessage takes a name). */
  async knownChannelIds(channels: readonly string[]): Promise<Map<string, string>> {
    if (channels.length === 0) return new Map();
    const rows = await this.#db
      .selectFrom('slack_messages')
      .select(['channel', 'channel_id'])
      .distinct()
      .where('channel', 'in', [...new Set(channels)])
      .where('channel_id', 'is not', null)
      .execute();
    return new Map(rows.map((row) => [row.channel, row.channel_id!]));
  }

  /** Claim before send: the row says "a post may be on its way" until completePost records its ts. */
  async beginPost(delivery: NewDelivery, now: number): Promise<void> {
    const at = new Date(now);
    await this.#db
      .insertInto('slack_messages')
      .values({ ...deliveryRow(delivery), state: 'sending', created_at: at, updated_at: at })
      .onConflict((oc) => oc.column('post_key').doNothing())
      .execute();
  }

  async completePost(postKey: string, channelId: string, ts: string, now: number): Promise<void> {
    const at = new Date(now);
    await this.#db
      .updateTable('slack_messages')
      .set({ state: 'posted', channel_id: channelId, ts, posted_at: at, updated_at: at })
      .where('post_key', '=', postKey)
      .execute();
  }

  /** Slack refused the post outright (nothing was delivered): forget the claim. */
  async abandonPost(postKey: string): Promise<void> {
    await this.#db.deleteFrom('slack_messages').where('post_key', '=', postKey).where('state', '=', 'sending').execute();
  }

  /** A delivery that points at an existing message (a flap edits the old message instead of posting). */
  async insertPosted(delivery: NewDelivery, message: { readonly channelId: string | null; readonly ts: string | null; readonly reused: boolean }, now: number): Promise<void> {
    const at = new Date(now);
    await this.#db
      .insertInto('slack_messages')
      .values({ ...deliveryRow(delivery), state: 'posted', channel_id: message.channelId, ts: message.ts, reused: message.reused, posted_at: at, created_at: at, updated_at: at })
      .onConflict((oc) => oc.column('post_key').doNothing())
      .execute();
  }

  async markShows(postKeys: readonly string[], shows: string, now: number): Promise<void> {
    if (postKeys.length === 0) return;
    await this.#db.updateTable('slack_messages').set({ shows, updated_at: new Date(now) }).where('post_key', 'in', postKeys).execute();
  }

  /** Messages of their own posted to a channel for a rule since `since` (what a flood is counted against). */
  async recentIndividual(channel: string, rule: string, role: SlackMessageRole, since: number): Promise<number> {
    const row = await this.#db
      .selectFrom('slack_messages')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('channel', '=', channel)
      .where('rule', '=', rule)
      .where('role', '=', role)
      .where('reused', '=', false)
      .where('created_at', '>', new Date(since))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}

/** The slack_messages columns of a delivery. */
export function deliveryRow(delivery: NewDelivery) {
  return {
    post_key: delivery.postKey,
    intent_id: delivery.intentId,
    finding_id: delivery.findingId,
    evaluation_key: delivery.evaluationKey,
    rule: delivery.rule,
    channel: delivery.channel,
    role: delivery.role,
    thread_ts: delivery.threadTs,
    flaps: delivery.flaps,
    shows: delivery.shows,
  };
}
