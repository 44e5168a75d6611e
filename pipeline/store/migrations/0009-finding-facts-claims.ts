import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { executeStatements } from '../execute-statements.ts';

/**
 * Issue 18 (catch-up): the finding facts sync held its claimed findings locked (FOR UPDATE) for the whole OpenSearch
 * `_bulk`, so every state commit touching one of them (resolve, markRewrittenFindings, the triggers below) waited for
 * that request. The sync now claims with a short lease instead of a lock held across the request:
 *
 * - `facts_version` counts the marks: every change that marks a finding bumps it, whether or not it was marked
 *   already. The sync remembers the version it claimed and clears a mark only if the version is still that one, so a
 *   change committed while its request was in flight keeps the mark for the next pass.
 * - `facts_claimed_until` is the claim: other sync workers skip a finding claimed until a time not yet past; a worker
 *   that died leaves a claim that simply expires. Its value is also the claim's token (a worker releases only its own).
 *
 * The places that marked only findings not marked yet (`not facts_dirty`) now also mark claimed ones: a claimed finding
 * is marked, but the pass in flight may have read its facts before this change.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await executeStatements(db, `
    alter table findings add column facts_version bigint not null default 0;
    alter table findings add column facts_claimed_until timestamptz;
  `);
  // Function bodies hold ';' at line ends, which executeStatements would split: one raw statement each.
  await sql.raw(`
    create or replace function driftwatch_finding_facts_changed() returns trigger language plpgsql as $$
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
        new.facts_version := old.facts_version + 1;
      elsif new.facts_dirty and not old.facts_dirty and new.facts_version = old.facts_version then
        -- Marked by a statement that did not count the mark itself.
        new.facts_version := old.facts_version + 1;
      end if;
      return new;
    end
    $$`).execute(db);
  await sql.raw(`
    create or replace function driftwatch_evaluation_rewrote_finding() returns trigger language plpgsql as $$
    begin
      -- A newer result on a finding that stays open re-indexes its OpenSearch document without the facts.
      update findings set facts_dirty = true, facts_tried_at = null, facts_version = facts_version + 1
      where finding_id = new.open_finding_id
        and status = 'open'
        and (not facts_dirty or facts_claimed_until is not null)
        and (escalated_at is not null or exception_id is not null or reminder_count > 0);
      return null;
    end
    $$`).execute(db);
}
