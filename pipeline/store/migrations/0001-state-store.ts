import type { Kysely } from 'kysely';
import { executeStatements } from '../execute-statements.ts';

export async function up(db: Kysely<any>): Promise<void> {
  await executeStatements(db, `
    create table evaluations (
      evaluation_key text primary key,
      account_id text not null,
      region text not null,
      rule text not null,
      resource_type text not null,
      resource_id text not null,
      compliance text not null,
      ordering_time timestamptz not null,
      event_id text not null,
      in_scope boolean not null,
      open_finding_id text,
      updated_at timestamptz not null default now()
    );
    create index evaluations_account_rule on evaluations (account_id, rule);

    create table findings (
      finding_id text primary key,
      evaluation_key text not null,
      account_id text not null,
      account_name text not null,
      region text not null,
      rule text not null,
      config_rule_name text not null,
      rule_title text not null,
      resource_type text not null,
      resource_id text not null,
      severity text not null,
      environment text not null,
      owner text not null,
      slack_channel text not null,
      annotation text,
      status text not null check (status in ('open', 'resolved')),
      opened_at timestamptz not null,
      opened_event_id text not null,
      deadline timestamptz,
      resolved_at timestamptz,
      resolution text,
      resolved_event_id text,
      exception_id text,
      escalated_at timestamptz,
      last_reminder_at timestamptz,
      reminder_count integer not null default 0,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    -- One episode of non-compliance at a time per evaluation key: a second open row is a bug, not data.
    create unique index findings_one_open_per_key on findings (evaluation_key) where status = 'open';
    create index findings_status_severity_deadline on findings (status, severity, deadline);
    create index findings_account on findings (account_id, status);

    create table shard_leases (
      stream_name text not null,
      shard_id text not null,
      parent_shard_ids text[] not null default '{}',
      owner text,
      lease_token bigint not null default 0,
      lease_expires_at timestamptz,
      checkpoint text,
      finished boolean not null default false,
      updated_at timestamptz not null default now(),
      primary key (stream_name, shard_id)
    );

    create table dead_letters (
      id bigserial primary key,
      source text not null,
      shard_id text not null,
      sequence_number text not null,
      stage text not null,
      reason text not null,
      raw bytea not null,
      status text not null default 'pending' check (status in ('pending', 'redriven', 'failed-again')),
      attempts integer not null default 0,
      created_at timestamptz not null default now(),
      redriven_at timestamptz,
      -- A re-read after a crash must not record the same bad record twice.
      unique (source, shard_id, sequence_number, stage)
    );
    create index dead_letters_status on dead_letters (status, created_at);

    create table processed_events (
      event_id text primary key,
      processed_at timestamptz not null default now()
    );
    create index processed_events_age on processed_events (processed_at);

    create table notification_outbox (
      intent_id text primary key,
      finding_id text not null,
      kind text not null,
      payload jsonb not null,
      status text not null default 'pending' check (status in ('pending', 'claimed', 'sent', 'failed', 'suppressed')),
      attempts integer not null default 0,
      available_at timestamptz not null default now(),
      claimed_by text,
      claimed_until timestamptz,
      completed_at timestamptz,
      last_error text,
      created_at timestamptz not null default now()
    );
    create index notification_outbox_pending on notification_outbox (status, available_at) where status in ('pending', 'claimed');
  `);
}
