import type { ColumnType, Generated } from 'kysely';
import type { OutboxTables } from '../outbox-tables.ts';

type Timestamp = ColumnType<Date, Date | string, Date | string>;

export type SlackMessageRole = 'alert' | 'escalation' | 'report' | 'digest-member';

/** One delivery of one intent to one channel: the message it posted (channel + ts), or the digest it joined. */
export interface SlackMessagesTable {
  readonly post_key: string;
  readonly intent_id: string;
  readonly finding_id: string;
  readonly evaluation_key: string | null;
  readonly rule: string | null;
  readonly channel: string;
  readonly role: SlackMessageRole;
  /** sending: claimed, the post may or may not have reached Slack; posted: ts recorded. */
  readonly state: 'sending' | 'posted';
  readonly channel_id: string | null;
  readonly ts: string | null;
  /** The thread the message was posted into (null for a top-level message). */
  readonly thread_ts: string | null;
  readonly digest_id: string | null;
  readonly reused: Generated<boolean>;
  readonly flaps: Generated<number>;
  /** What an alert message shows now: open | resolved. */
  readonly shows: string | null;
  readonly created_at: Timestamp;
  readonly posted_at: Timestamp | null;
  readonly updated_at: Timestamp;
}

export type DigestKind = 'opened' | 'escalated';

/** One message standing for a flood of findings of one rule in one channel. */
export interface SlackDigestsTable {
  readonly digest_id: string;
  readonly channel: string;
  readonly rule: string;
  readonly kind: DigestKind;
  readonly open: Generated<boolean>;
  readonly state: Generated<'pending' | 'sending' | 'posted'>;
  /** The notifier posting it (migration 0006) and until when, on the database's clock. */
  readonly claimed_by: string | null;
  readonly claimed_until: Timestamp | null;
  /** When a deferred first post is due again, on the notifier's clock (migration 0006). */
  readonly available_at: Timestamp | null;
  readonly channel_id: string | null;
  readonly ts: string | null;
  readonly started_at: Timestamp;
  readonly active_until: Timestamp;
  /** Bumped by every member change; the message is stale while version > rendered_version. */
  readonly version: Generated<number>;
  readonly rendered_version: Generated<number>;
  readonly rendered_at: Timestamp | null;
  readonly created_at: Timestamp;
  readonly updated_at: Timestamp;
}

// A type alias, not an interface: Kysely's withTables<T>() needs an index-compatible record.
export type SlackNotifierTables = OutboxTables & {
  readonly slack_messages: SlackMessagesTable;
  readonly slack_digests: SlackDigestsTable;
};
