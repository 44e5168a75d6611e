import type { Kysely } from 'kysely';
import { executeStatements } from '../execute-statements.ts';

/**
 * Issue 11: the account registry synced from AWS Organizations (with the history of every change), and the state of
 * reconciliation runs with the Config aggregator (cursor to resume after a crash, tallies per account and rule).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await executeStatements(db, `
    create table accounts (
      account_id text primary key,
      name text not null,
      email text,
      -- Organizations' State: ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED; REMOVED = no longer in the organization.
      state text not null,
      -- Mapped from the environment tag (production, staging, development, sandbox, unknown); the raw tag beside it.
      environment text not null,
      environment_tag text,
      owner text,
      slack_channel text,
      ou_path text,
      tags jsonb not null default '{}',
      joined_at timestamptz,
      first_seen_at timestamptz not null,
      last_seen_at timestamptz not null,
      updated_at timestamptz not null
    );

    -- Append-only: every change of a synced field, with the time and the old and new value.
    create table account_changes (
      id bigserial primary key,
      sync_id text not null,
      account_id text not null,
      field text not null check (field in ('added', 'name', 'state', 'environment', 'owner', 'slack_channel', 'ou_path')),
      old_value text,
      new_value text,
      changed_at timestamptz not null
    );
    create index account_changes_account on account_changes (account_id, changed_at);

    create table account_syncs (
      sync_id text primary key,
      started_at timestamptz not null,
      finished_at timestamptz not null,
      accounts integer not null,
      changes integer not null
    );

    create table reconcile_runs (
      run_id text primary key,
      status text not null check (status in ('running', 'finished', 'failed')),
      -- A run into a database with no evaluations: its findings are announced as DRIFTWATCH_RECONCILE_BACKFILL says.
      backfill boolean not null,
      notify text not null,
      rule_filter text,
      account_filter text,
      dry_run boolean not null default false,
      started_at timestamptz not null,
      finished_at timestamptz,
      -- Accounts to visit, in order, fixed at the start; the cursor is the index of the next one.
      accounts jsonb not null,
      next_account integer not null default 0,
      heartbeat_at timestamptz not null,
      owner text not null,
      error text
    );
    -- One run at a time: a second reconcile resumes the unfinished one instead of starting another.
    create unique index reconcile_runs_one_running on reconcile_runs ((true)) where status = 'running';

    create table reconcile_tallies (
      run_id text not null,
      account_id text not null,
      rule text not null,
      evaluations integer not null,
      unchanged integer not null,
      differences integer not null,
      opened integer not null,
      resolved integer not null,
      newer_in_store integer not null,
      gone integer not null,
      primary key (run_id, account_id, rule)
    );

    -- What a reconcile event opened or resolved, found again after a crash (few rows: only reconcile's own ids).
    create index findings_opened_by_reconcile on findings (opened_event_id) where opened_event_id like 'reconcile-%';
    create index findings_resolved_by_reconcile on findings (resolved_event_id) where resolved_event_id like 'reconcile-%';
  `);
}
