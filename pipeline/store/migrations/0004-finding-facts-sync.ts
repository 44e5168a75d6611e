import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { executeStatements } from '../execute-statements.ts';

/**
 * Issue 5: escalations, reminders and risk exceptions must reach the OpenSearch finding documents. Those documents
 * are written by the OpenSearch sink from the in-memory Finding, which does not carry these facts, and each write
 * replaces the whole document. So Postgres marks a finding `facts_dirty` whenever its facts change, or whenever a
 * write replaced its document while it had facts; the finding facts sync (pipeline/sinks/opensearch/
 * finding-facts-sync.ts) re-applies them and clears the mark. `facts_tried_at` is the last failed attempt: retries
 * queue behind fresh changes, so documents that cannot be updated (not indexed) never starve the others.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await executeStatements(db, `
    alter table findings add column facts_dirty boolean not null default false;
    alter table findings add column facts_tried_at timestamptz;
    create index findings_facts_dirty on findings (facts_tried_at nulls first, finding_id) where facts_dirty;
    -- Facts recorded before this migration never reached OpenSearch.
    update findings set facts_dirty = true where escalated_at is not null or exception_id is not null or reminder_count > 0;
  `);
  // Function bodies hold ';' at line ends, which executeStatements would split: one raw statement each.
  await sql.raw(`
    create function driftwatch_finding_facts_changed() returns trigger language plpgsql as $$
    begin
      -- A status change (the resolve write) replaces the OpenSearch document, so facts must be re-applied after it.
      if new.escalated_at is distinct from old.escalated_at
        or new.last_reminder_at is distinct from old.last_reminder_at
        or new.reminder_count is distinct from old.reminder_count
        or new.exception_id is distinct from old.exception_id
        or (new.status is distinct from old.status
          and (new.escalated_at is not null or new.exception_id is not null or old.exception_id is not null or new.reminder_count > 0)) then
        new.facts_dirty := true;
        new.facts_tried_at := null;
      end if;
      return new;
    end
    $$`).execute(db);
  await sql.raw(`create trigger findings_mark_facts_dirty before update on findings for each row execute function driftwatch_finding_facts_changed()`).execute(db);
  await sql.raw(`
    create function driftwatch_finding_facts_on_insert() returns trigger language plpgsql as $$
    begin
      if new.exception_id is not null then
        new.facts_dirty := true;
      end if;
      return new;
    end
    $$`).execute(db);
  // Same-timing triggers fire in name order: this one must run after findings_apply_risk_exception sets exception_id.
  await sql.raw(`create trigger findings_mark_facts_dirty_on_insert before insert on findings for each row execute function driftwatch_finding_facts_on_insert()`).execute(db);
  await sql.raw(`
    create function driftwatch_evaluation_rewrote_finding() returns trigger language plpgsql as $$
    begin
      -- A newer result on a finding that stays open re-indexes its OpenSearch document without the facts.
      update findings set facts_dirty = true, facts_tried_at = null
      where finding_id = new.open_finding_id
        and not facts_dirty
        and (escalated_at is not null or exception_id is not null or reminder_count > 0);
      return null;
    end
    $$`).execute(db);
  await sql.raw(`
    create trigger evaluations_mark_finding_facts_dirty after update on evaluations for each row
    when (new.open_finding_id is not null and new.event_id is distinct from old.event_id)
    execute function driftwatch_evaluation_rewrote_finding()`).execute(db);
}
