import { z } from 'zod';
import type { Selectable } from 'kysely';
import type { RiskExceptionsTable } from './exception-tables.ts';

/**
 * A request to accept a risk: which findings (rule, optionally one account, optionally one resource), until when
 * (epoch ms), why, and who decided.
 *
 * @example
 * { rule: 's3-bucket-public-read-prohibited', accountId: '111122223333', resourceId: 'public-website-assets',
 *   until: 1798675200000, reason: 'Static website; CloudFront migration planned for Q1', by: 'alice@example.com' }
 */
export const RiskExceptionInput = z.object({
  rule: z.string().trim().min(1, 'a rule is required'),
  accountId: z.string().regex(/^\d{12}$/, 'an AWS account id has 12 digits').optional(),
  resourceId: z.string().trim().min(1).optional(),
  until: z.number().int(),
  reason: z.string().trim().min(1, 'a reason is required'),
  by: z.string().trim().min(1, 'who accepts the risk is required'),
});
export type RiskExceptionInput = z.infer<typeof RiskExceptionInput>;

export type RiskExceptionStatus = 'active' | 'expired' | 'revoked';

/** A stored risk exception; times are epoch ms, status as of the time it was read. */
export interface RiskException {
  readonly id: string;
  readonly rule: string;
  readonly accountId: string | null;
  readonly resourceId: string | null;
  readonly until: number;
  readonly reason: string;
  readonly createdBy: string;
  readonly createdAt: number;
  readonly revokedAt: number | null;
  readonly revokedBy: string | null;
  readonly revokeReason: string | null;
  readonly status: RiskExceptionStatus;
}

export function riskExceptionFromRow(row: Selectable<RiskExceptionsTable>, now: number): RiskException {
  const until = row.until.getTime();
  return {
    id: row.id,
    rule: row.rule,
    accountId: row.account_id,
    resourceId: row.resource_id,
    until,
    reason: row.reason,
    createdBy: row.created_by,
    createdAt: row.created_at.getTime(),
    revokedAt: row.revoked_at ? row.revoked_at.getTime() : null,
    revokedBy: row.revoked_by,
    revokeReason: row.revoke_reason,
    status: row.revoked_at ? 'revoked' : until <= now ? 'expired' : 'active',
  };
}
