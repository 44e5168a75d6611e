import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { executeStatements } from '../execute-statements.ts';

/**
 * Issue 5: risk exceptions and their audit trail, escalations (exactly once per finding and notice), and daily
 * compliance snapshots that the monthly report reads.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await executeStatements(db, `
    create table risk_exceptions (
      id text primary key,
      rule text not null,
      account_id text,
      resource_id text,
      until timestamptz not null,
      reason text not null,
      created_by text not null,
      created_at timestamptz not null,
      revoked_at timestamptz,
      revoked_by text,
      revoke_reason text
    );
    create index risk_exceptions_rule on risk_exceptions (rule, until);

    create table exception_audit (
      id bigserial primary key,
      exception_id text not null,
      action text not null check (action in ('created', 'revoked', 'expired')),
      actor text not null,
      at timestamptz not null,
      details jsonb not null
    );
    -- Each exception is created, revoked and expires at most once: a second expiry pass must not add a row.
    create unique index exception_audit_once on exception_audit (exception_id, action);

    create table escalations (
      id bigserial primary key,
      finding_id text not null,
      kind text not null check (kind in ('escalation', 'reminder')),
      n integer not null,
      at timestamptz not null,
      channel text not null,
      owner text not null,
      account_id text not null,
      rule text not null,
      severity text not null,
      deadline timestamptz not null,
      unique (finding_id, n)
    );
    create index escalations_at on escalations (at);

    create table compliance_snapshots (
      day date not null,
      account_id text not null,
      rule text not null,
      evaluated integer not null,
      compliant integer not null,
      non_compliant integer not null,
      excepted integer not null,
      taken_at timestamptz not null,
      primary key (day, account_id, rule)
    );

    create index findings_exception on findings (exception_id) where exception_id is not null;
    create index findings_rule_open on findings (rule, account_id) where status = 'open';
  `);
  // Function bodies hold ';' at line ends, which executeStatements would split: one raw statement each.
  await sql.raw(`
    create function driftwatch_apply_risk_exception() returns trigger language plpgsql as $$
    begin
      -- A finding that opens while an exception covers it is excepted in the same transaction, so it alerts nobody.
      if new.exception_id is null then
        new.exception_id := (
          select e.id from risk_exceptions e
          where e.rule = new.rule
            and (e.account_id is null or e.account_id = new.account_id)
            and (e.resource_id is null or e.resource_id = new.resource_id)
            and e.revoked_at is null
            and e.until > new.opened_at
          order by e.until desc, e.id
          limit 1);
      end if;
      return new;
    end
    $$`).execute(db);
  await sql.raw(`create trigger findings_apply_risk_exception before insert on findings for each row execute function driftwatch_apply_risk_exception()`).execute(db);
  await sql.raw(`
    create function driftwatch_audit_is_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'exception_audit is append-only';
    end
    $$`).execute(db);
  await sql.raw(`create trigger exception_audit_append_only before update or delete on exception_audit for each row execute function driftwatch_audit_is_append_only()`).execute(db);
  await sql.raw(`create trigger exception_audit_no_truncate before truncate on exception_audit for each statement execute function driftwatch_audit_is_append_only()`).execute(db);
}
