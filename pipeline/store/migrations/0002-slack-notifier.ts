import type { Kysely } from 'kysely';
import { executeStatements } from '../execute-statements.ts';

/**
 * The Slack notifier's state: where every alert was posted (channel + ts, so it can be edited), digests that replace
 * floods, and an order for the outbox (seq, plus the evaluation key the notifier must keep in order).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await executeStatements(db, `
    -- Rows of one batch share created_at: seq keeps the order the state sink wrote them in.
    alter table notification_outbox add column seq bigserial;
    -- Intents of one evaluation key are delivered strictly in order (an update never overtakes its post).
    alter table notification_outbox add column ordering_key text generated always as (coalesce(payload #>> '{finding,evaluationKey}', finding_id)) stored;
    create index notification_outbox_claim_order on notification_outbox (seq) where status in ('pending', 'claimed');
    create index notification_outbox_key_order on notification_outbox (ordering_key, seq) where status in ('pending', 'claimed');

    create table slack_messages (
      -- intent_id|channel: one delivery, and the marker put in the message metadata to find it again after a crash.
      post_key text primary key,
      intent_id text not null,
      finding_id text not null,
      evaluation_key text,
      rule text,
      channel text not null,
      role text not null check (role in ('alert', 'escalation', 'report', 'digest-member')),
      state text not null check (state in ('sending', 'posted')),
      channel_id text,
      ts text,
      thread_ts text,
      digest_id text,
      -- True when the row points at an older finding's message (flapping) instead of a message of its own.
      reused boolean not null default false,
      flaps integer not null default 0,
      shows text,
      created_at timestamptz not null,
      posted_at timestamptz,
      updated_at timestamptz not null
    );
    create index slack_messages_finding on slack_messages (finding_id);
    create index slack_messages_key_channel on slack_messages (evaluation_key, channel, created_at);
    create index slack_messages_flood on slack_messages (channel, rule, role, created_at);
    create index slack_messages_digest on slack_messages (digest_id) where digest_id is not null;

    create table slack_digests (
      digest_id text primary key,
      channel text not null,
      rule text not null,
      kind text not null check (kind in ('opened', 'escalated')),
      -- open: still collecting new findings (until active_until); a closed digest is still kept up to date.
      open boolean not null default true,
      state text not null default 'pending' check (state in ('pending', 'sending', 'posted')),
      claimed_until timestamptz,
      channel_id text,
      ts text,
      started_at timestamptz not null,
      active_until timestamptz not null,
      version integer not null default 1,
      rendered_version integer not null default 0,
      rendered_at timestamptz,
      created_at timestamptz not null,
      updated_at timestamptz not null
    );
    -- Two notifiers hit by the same flood must share one digest.
    create unique index slack_digests_one_open on slack_digests (channel, rule, kind) where open;
    create index slack_digests_stale on slack_digests (state, rendered_at) where version > rendered_version or state <> 'posted';
  `);
}
