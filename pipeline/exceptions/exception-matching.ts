import { sql } from 'kysely';
import type { RawBuilder } from 'kysely';
import type { Finding } from '../../stages/track/finding.ts';
import type { RiskException } from './risk-exception.ts';

/**
 * The one matching rule, in SQL (for queries over many findings) and in memory: an exception covers a finding of its
 * rule, in its account when it names one, on its resource when it names one. The database trigger of migration 0003
 * spells the same condition.
 */
export function exceptionCoversFinding(exception: string, finding: string): RawBuilder<boolean> {
  const e = (column: string) => sql.ref(`${exception}.${column}`);
  const f = (column: string) => sql.ref(`${finding}.${column}`);
  return sql<boolean>`(${e('rule')} = ${f('rule')}
    and (${e('account_id')} is null or ${e('account_id')} = ${f('account_id')})
    and (${e('resource_id')} is null or ${e('resource_id')} = ${f('resource_id')}))`;
}

/** SQL: the exception is in force at `at` (an instant, or a column such as a finding's deadline). */
export function exceptionActiveAt(exception: string, at: Date | RawBuilder<unknown>): RawBuilder<boolean> {
  const e = (column: string) => sql.ref(`${exception}.${column}`);
  return sql<boolean>`(${e('created_at')} <= ${at} and ${e('until')} > ${at} and (${e('revoked_at')} is null or ${e('revoked_at')} > ${at}))`;
}

/** SQL: the exception is in force now and from now on (not revoked, not expired): it may cover findings. */
export function exceptionInForce(exception: string, now: Date): RawBuilder<boolean> {
  return sql<boolean>`(${sql.ref(`${exception}.revoked_at`)} is null and ${sql.ref(`${exception}.until`)} > ${now})`;
}

export function exceptionMatches(exception: Pick<RiskException, 'rule' | 'accountId' | 'resourceId'>, finding: Pick<Finding, 'rule' | 'accountId' | 'resourceId'>): boolean {
  return (
    exception.rule === finding.rule &&
    (exception.accountId === null || exception.accountId === finding.accountId) &&
    (exception.resourceId === null || exception.resourceId === finding.resourceId)
  );
}
