import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../store/database-schema.ts';
import type { Clock } from '../clock/clock.ts';
import type { ExceptionTables } from './exception-tables.ts';
import { RiskExceptionInput, riskExceptionFromRow } from './risk-exception.ts';
import type { RiskException } from './risk-exception.ts';
import { RiskExceptionError } from './risk-exception-error.ts';
import { exceptionCoversFinding } from './exception-matching.ts';
import { releaseFinding } from './release-finding.ts';
import type { ReleaseOutcome } from './release-finding.ts';

export interface RiskExceptionView extends RiskException {
  /** Open findings this exception keeps silent now. */
  readonly coveredOpenFindings: number;
}

export interface AuditEntry {
  readonly exceptionId: string;
  readonly action: 'created' | 'revoked' | 'expired';
  readonly actor: string;
  readonly at: number;
  readonly details: unknown;
}

export interface RevokeResult {
  readonly exception: RiskException;
  readonly reassigned: number;
  readonly realerted: number;
  readonly released: number;
}

/**
 * Risk acceptance: add, list, revoke, and the audit trail of every change. Adding marks the open findings it covers
 * (and the findings trigger marks findings that open later) so they alert and escalate nobody; revoking makes them
 * live again at once. Expiry is the periodic job in exception-expiry.ts.
 */
export class ExceptionStore {
  readonly #db: Kysely<Database & ExceptionTables>;
  readonly #clock: Clock;

  constructor(db: Kysely<Database>, clock: Clock) {
    this.#db = db.withTables<ExceptionTables>();
    this.#clock = clock;
  }

  async add(input: RiskExceptionInput): Promise<{ exception: RiskException; covered: number }> {
    const parsed = RiskExceptionInput.safeParse(input);
    if (!parsed.success) throw new RiskExceptionError(parsed.error.issues[0]?.message ?? 'invalid risk exception');
    const request = parsed.data;
    const now = this.#clock.now();
    if (request.until <= now) throw new RiskExceptionError(`until ${new Date(request.until).toISOString()} is not in the future`);
    const id = `exc-${randomBytes(5).toString('hex')}`;
    return this.#db.transaction().execute(async (trx) => {
      const row = await trx
        .insertInto('risk_exceptions')
        .values({
          id,
          rule: request.rule,
          account_id: request.accountId ?? null,
          resource_id: request.resourceId ?? null,
          until: new Date(request.until),
          reason: request.reason,
          created_by: request.by,
          created_at: new Date(now),
          revoked_at: null,
          revoked_by: null,
          revoke_reason: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await trx
        .insertInto('exception_audit')
        .values({
          exception_id: id,
          action: 'created',
          actor: request.by,
          at: new Date(now),
          details: JSON.stringify({
            rule: request.rule,
            accountId: request.accountId ?? null,
            resourceId: request.resourceId ?? null,
            until: new Date(request.until).toISOString(),
            reason: request.reason,
          }),
        })
        .execute();
      // A finding already covered by another exception keeps it; this one takes over if that one ends first.
      const covered = await trx
        .updateTable('findings as f')
        .set({ exception_id: id, updated_at: new Date() })
        .where('f.status', '=', 'open')
        .where('f.exception_id', 'is', null)
        .where((eb) => eb.exists(eb.selectFrom('risk_exceptions as e').select('e.id').where('e.id', '=', id).where(exceptionCoversFinding('e', 'f'))))
        .executeTakeFirst();
      return { exception: riskExceptionFromRow(row, now), covered: Number(covered.numUpdatedRows) };
    });
  }

  async get(id: string): Promise<RiskException | null> {
    const row = await this.#db.selectFrom('risk_exceptions').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? riskExceptionFromRow(row, this.#clock.now()) : null;
  }

  /** Exceptions in force, newest first; `all` adds expired and revoked ones. */
  async list(options: { all?: boolean } = {}): Promise<RiskExceptionView[]> {
    const now = this.#clock.now();
    let query = this.#db
      .selectFrom('risk_exceptions as e')
      .selectAll('e')
      .select((eb) =>
        eb.selectFrom('findings as f').select((inner) => inner.fn.countAll<string>().as('n')).whereRef('f.exception_id', '=', 'e.id').where('f.status', '=', 'open').as('covered'),
      )
      .orderBy('e.created_at', 'desc')
      .orderBy('e.id');
    if (!options.all) query = query.where('e.revoked_at', 'is', null).where('e.until', '>', new Date(now));
    const rows = await query.execute();
    return rows.map(({ covered, ...row }) => ({ ...riskExceptionFromRow(row, now), coveredOpenFindings: Number(covered ?? 0) }));
  }

  async revoke(id: string, by: string, reason?: string): Promise<RevokeResult> {
    if (by.trim() === '') throw new RiskExceptionError('who revokes the exception is required');
    const now = this.#clock.now();
    return this.#db.transaction().execute(async (trx) => {
      const current = await trx.selectFrom('risk_exceptions').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
      if (!current) throw new RiskExceptionError(`no risk exception ${id}`);
      const state = riskExceptionFromRow(current, now);
      if (state.status !== 'active') throw new RiskExceptionError(`risk exception ${id} is already ${state.status}`);
      const row = await trx
        .updateTable('risk_exceptions')
        .set({ revoked_at: new Date(now), revoked_by: by, revoke_reason: reason ?? null })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
      await trx
        .insertInto('exception_audit')
        .values({ exception_id: id, action: 'revoked', actor: by, at: new Date(now), details: JSON.stringify({ reason: reason ?? null }) })
        .execute();
      const findings = await trx
        .selectFrom('findings')
        .selectAll()
        .where('exception_id', '=', id)
        .where('status', '=', 'open')
        .orderBy('finding_id')
        .forUpdate()
        .execute();
      const outcomes: Record<ReleaseOutcome, number> = { reassigned: 0, realerted: 0, released: 0 };
      for (const finding of findings) outcomes[await releaseFinding(trx, finding, now)]++;
      return { exception: riskExceptionFromRow(row, now), ...outcomes };
    });
  }

  /** The audit trail, oldest first: of one exception, or of all. */
  async history(id?: string): Promise<AuditEntry[]> {
    let query = this.#db.selectFrom('exception_audit').selectAll().orderBy('at').orderBy('id');
    if (id) query = query.where('exception_id', '=', id);
    const rows = await query.execute();
    return rows.map((row) => ({ exceptionId: row.exception_id, action: row.action, actor: row.actor, at: row.at.getTime(), details: row.details }));
  }
}
