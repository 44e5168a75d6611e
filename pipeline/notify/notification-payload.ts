import { z } from 'zod';
import { Severity } from '../../schemas/rule-catalog.ts';
import { Environment } from '../../schemas/account-registry.ts';

/**
 * The finding snapshot carried by finding.* intents (stages/track/finding.ts Finding, times in epoch ms).
 *
 * @example
 * { findingId: 'q9…', evaluationKey: '111122223333|us-east-1|s3-bucket-public-read-prohibited|AWS::S3::Bucket|logs',
 *   accountId: '111122223333', accountName: 'payments-prod', region: 'us-east-1', rule: 's3-bucket-public-read-prohibited',
 *   configRuleName: 'OrgConfigRule-s3-bucket-public-read-prohibited-ab12', ruleTitle: 'S3 buckets do not allow public read',
 *   resourceType: 'AWS::S3::Bucket', resourceId: 'logs', severity: 'High', environment: 'production', owner: 'payments',
 *   slackChannel: '#payments-alerts', annotation: null, status: 'open', openedAt: 1767225600000, openedEventId: 'e1',
 *   deadline: 1767484800000, resolvedAt: null, resolution: null, resolvedEventId: null }
 */
export const FindingSnapshot = z.object({
  findingId: z.string().min(1),
  evaluationKey: z.string().min(1),
  accountId: z.string(),
  accountName: z.string(),
  region: z.string(),
  rule: z.string().min(1),
  configRuleName: z.string(),
  ruleTitle: z.string(),
  resourceType: z.string(),
  resourceId: z.string(),
  severity: Severity,
  environment: Environment.catch('unknown'),
  owner: z.string(),
  slackChannel: z.string(),
  annotation: z.string().nullable().default(null),
  status: z.enum(['open', 'resolved']),
  openedAt: z.number(),
  openedEventId: z.string(),
  deadline: z.number().nullable().default(null),
  resolvedAt: z.number().nullable().default(null),
  resolution: z.enum(['COMPLIANT', 'NOT_APPLICABLE', 'DELETED', 'OUT_OF_SCOPE']).nullable().default(null),
  resolvedEventId: z.string().nullable().default(null),
});
export type FindingSnapshot = z.infer<typeof FindingSnapshot>;

/**
 * One notification_outbox payload: what happened, with everything needed to render it.
 *
 * @example
 * { kind: 'finding.escalated', finding: { … }, escalation: { reminder: false, count: 0, at: 1767484800000 } }
 */
export const NotificationPayload = z.discriminatedUnion('kind', [
  // notify: set on a reconcile backfill's findings (digest = always folded into the digest, silent = no message).
  z.object({ kind: z.literal('finding.opened'), finding: FindingSnapshot, eventId: z.string().optional(), notify: z.enum(['digest', 'silent']).optional() }),
  z.object({ kind: z.literal('finding.resolved'), finding: FindingSnapshot, eventId: z.string().optional() }),
  z.object({
    kind: z.literal('finding.escalated'),
    finding: FindingSnapshot,
    escalation: z.object({ reminder: z.boolean(), count: z.number().int().min(0), at: z.number() }),
  }),
  z.object({ kind: z.literal('finding.realert'), finding: FindingSnapshot, reason: z.string().default('exception-expired') }),
  z.object({
    kind: z.literal('report.monthly'),
    month: z.string(),
    channel: z.string().min(1),
    text: z.string(),
    blocks: z.array(z.unknown()).optional(),
  }),
]);
export type NotificationPayload = z.infer<typeof NotificationPayload>;
export type FindingPayload = Exclude<NotificationPayload, { kind: 'report.monthly' }>;
