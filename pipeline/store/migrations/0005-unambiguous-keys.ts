import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { executeStatements } from '../execute-statements.ts';

/**
 * Issues 9 and 17: keys that cannot collide, and what the state commit needs to arbitrate between writers.
 *
 * - Evaluation keys become evaluationKeyOf's (stages/enrich/enriched-event.ts): base64url SHA-256 of the five parts,
 *   each prefixed by its UTF-8 length. `driftwatch_evaluation_key` computes the same value in SQL; every table that
 *   carries the key is converted (evaluations, findings, slack_messages, the outbox payloads and so their ordering key).
 * - An evaluation's `open_finding_id` names its key's open finding or nothing: rows the two-writer bug left pointing
 *   at a resolved finding are repaired, and the trigger of 0004 no longer follows a pointer to a finding not open.
 * - Processed events remember their first effect (transition, finding), so a duplicate or a redrive can rebuild that
 *   effect's OpenSearch documents instead of inventing another.
 * - Dead letters are keyed by a hash of where they came from AND their bytes: two different bad lines at the same line
 *   number of two replays no longer collide, and the same line replayed again is still stored once.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // Function bodies are single SQL expressions: one raw statement each (executeStatements splits on ';').
  await sql.raw(`
    create function driftwatch_evaluation_key(account_id text, region text, rule text, resource_type text, resource_id text)
    returns text language sql immutable strict parallel safe as $$
      select translate(rtrim(encode(sha256(convert_to(
        octet_length(account_id)::text || ':' || account_id ||
        octet_length(region)::text || ':' || region ||
        octet_length(rule)::text || ':' || rule ||
        octet_length(resource_type)::text || ':' || resource_type ||
        octet_length(resource_id)::text || ':' || resource_id, 'UTF8')), 'base64'), '='), '+/', '-_')
    $$`).execute(db);
  await sql.raw(`
    create function driftwatch_dead_letter_key(source text, shard_id text, sequence_number text, stage text, raw bytea)
    returns text language sql immutable strict parallel safe as $$
      select encode(sha256(convert_to(
        octet_length(source)::text || ':' || source ||
        octet_length(shard_id)::text || ':' || shard_id ||
        octet_length(sequence_number)::text || ':' || sequence_number ||
        octet_length(stage)::text || ':' || stage, 'UTF8') || sha256(raw)), 'hex')
    $$`).execute(db);

  await executeStatements(db, `
    -- The old sink split the joined key on '|', so a '|' inside a resource type landed in the id column. A finding of
    -- the same key has the parts as the event gave them: trust those.
    update evaluations e
    set account_id = f.account_id, region = f.region, rule = f.rule, resource_type = f.resource_type, resource_id = f.resource_id
    from (select distinct on (evaluation_key) evaluation_key, account_id, region, rule, resource_type, resource_id
          from findings order by evaluation_key, opened_at desc) f
    where f.evaluation_key = e.evaluation_key
      and (e.account_id, e.region, e.rule, e.resource_type, e.resource_id) is distinct from (f.account_id, f.region, f.rule, f.resource_type, f.resource_id);
    update evaluations set evaluation_key = driftwatch_evaluation_key(account_id, region, rule, resource_type, resource_id);
    update findings set evaluation_key = driftwatch_evaluation_key(account_id, region, rule, resource_type, resource_id);
    update slack_messages m set evaluation_key = f.evaluation_key
    from findings f where f.finding_id = m.finding_id and m.evaluation_key is not null and m.evaluation_key <> f.evaluation_key;
    update notification_outbox o set payload = jsonb_set(o.payload, '{finding,evaluationKey}', to_jsonb(f.evaluation_key))
    from findings f where f.finding_id = o.finding_id and o.payload #>> '{finding,evaluationKey}' is not null
      and o.payload #>> '{finding,evaluationKey}' <> f.evaluation_key;

    -- open_finding_id = the key's open finding, or null.
    update evaluations e set open_finding_id = null
    where e.open_finding_id is not null
      and not exists (select 1 from findings f where f.finding_id = e.open_finding_id and f.status = 'open' and f.evaluation_key = e.evaluation_key);
    update evaluations e set open_finding_id = f.finding_id
    from findings f where f.evaluation_key = e.evaluation_key and f.status = 'open' and e.open_finding_id is distinct from f.finding_id;

    alter table processed_events add column transition text;
    alter table processed_events add column finding_id text;

    alter table dead_letters add column letter_key text;
    update dead_letters set letter_key = driftwatch_dead_letter_key(source, shard_id, sequence_number, stage, raw);
    alter table dead_letters alter column letter_key set not null;
    alter table dead_letters drop constraint if exists dead_letters_source_shard_id_sequence_number_stage_key;
    create unique index dead_letters_letter_key on dead_letters (letter_key);
  `);

  await sql.raw(`
    create or replace function driftwatch_evaluation_rewrote_finding() returns trigger language plpgsql as $$
    begin
      -- A newer result on a finding that stays open re-indexes its OpenSearch document without the facts.
      update findings set facts_dirty = true, facts_tried_at = null
      where finding_id = new.open_finding_id
        and status = 'open'
        and not facts_dirty
        and (escalated_at is not null or exception_id is not null or reminder_count > 0);
      return null;
    end
    $$`).execute(db);
}
