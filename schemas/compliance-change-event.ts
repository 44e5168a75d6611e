import { z } from 'zod';
import { IsoTimestamp } from './iso-timestamp.ts';
import { storableString } from './storable-text.ts';

/**
 * Bounds are AWS Config's own (EvaluationResultQualifier: rule name 1-128, resource type 1-256, resource id 1-768) or,
 * for fields AWS does not bound, generous ones; every string must be one the state store can hold (storable-text.ts).
 * A value outside them is a dead letter with its reason, never a batch the store refuses.
 */
const RuleName = storableString({ min: 1, max: 128 });
const ResourceType = storableString({ min: 1, max: 256 });
const ResourceId = storableString({ min: 1, max: 768 });
const Region = z.string().min(1).max(32).regex(/^[a-z0-9-]+$/, 'an AWS region is lowercase letters, digits and dashes');
const AccountId = z.string().regex(/^\d{12}$/, 'an AWS account id has 12 digits');
const ShortText = storableString({ max: 128 });
const LongText = storableString({ max: 2_048 });

/** AWS Config compliance values; anything else is a dead letter, not a guess. */
export const ComplianceType = z.enum(['COMPLIANT', 'NON_COMPLIANT', 'NOT_APPLICABLE', 'INSUFFICIENT_DATA']);
export type ComplianceType = z.infer<typeof ComplianceType>;

/**
 * One evaluation result inside a compliance-change event.
 *
 * @example
 * { evaluationResultIdentifier: { evaluationResultQualifier: { configRuleName: 'OrgConfigRule-s3-bucket-public-write-prohibited-a1b2c3d4',
 *   resourceType: 'AWS::S3::Bucket', resourceId: 'my-bucket' }, orderingTimestamp: '2026-03-04T10:14:51.902Z' },
 *   complianceType: 'NON_COMPLIANT', resultRecordedTime: '2026-03-04T10:15:21.330Z', configRuleInvokedTime: '2026-03-04T10:15:20.871Z' }
 */
export const EvaluationResult = z.object({
  evaluationResultIdentifier: z.object({
    evaluationResultQualifier: z.object({
      configRuleName: RuleName,
      resourceType: ResourceType,
      resourceId: ResourceId,
      evaluationMode: ShortText.optional(),
    }),
    orderingTimestamp: IsoTimestamp,
    resourceEvaluationId: ShortText.optional(),
  }),
  complianceType: ComplianceType,
  resultRecordedTime: IsoTimestamp.optional(),
  configRuleInvokedTime: IsoTimestamp.optional(),
  // AWS bounds annotations at 256; they are stored in unindexed columns only, so only the record size bounds them here.
  annotation: storableString({ max: 262_144 }).optional(),
  resultToken: storableString({ max: 262_144 }).optional(),
});
export type EvaluationResult = z.infer<typeof EvaluationResult>;

/**
 * The EventBridge envelope of an AWS Config "Config Rules Compliance Change" event.
 * `oldEvaluationResult` is absent on a first evaluation. `newEvaluationResult` is absent when Config
 * removed the evaluation (the resource was deleted); such an event resolves the open finding as DELETED.
 *
 * @example
 * { version: '0', id: '3f1e6c2a-9b0d-4e57-8c1a-5d2b7e9f0a11', 'detail-type': 'Config Rules Compliance Change',
 *   source: 'aws.config', account: '111122223333', time: '2026-03-04T10:15:22Z', region: 'ap-northeast-1', resources: [],
 *   detail: { resourceId: 'sg-0a1b2c3d4e5f67890', awsRegion: 'ap-northeast-1', awsAccountId: '111122223333',
 *     configRuleName: 'OrgConfigRule-vpc-sg-open-only-to-authorized-ports-3xk9qz1a', messageType: 'ComplianceChangeNotification',
 *     resourceType: 'AWS::EC2::SecurityGroup', newEvaluationResult: { ... } } }
 */
/**
 * What driftwatch adds to the compliance changes it builds itself (reconciliation with the Config aggregator, the
 * effects of an accounts sync): the run that built it, and how its new findings are announced (a backfill posts one
 * digest, or nothing, instead of thousands of alerts).
 *
 * @example
 * { run: 'rc-2026-03-04T02:00:00.000Z-9f3a', notify: 'digest' }
 */
export const SyntheticMark = z.object({
  run: z.string().min(1).max(128),
  notify: z.enum(['alert', 'digest', 'silent']).default('alert'),
});
export type SyntheticMark = z.infer<typeof SyntheticMark>;

/** `aws.config` for events from the stream; driftwatch's own sources for the changes it builds. */
export const EventSource = z.enum(['aws.config', 'driftwatch.reconcile', 'driftwatch.accounts']);
export type EventSource = z.infer<typeof EventSource>;

export const ComplianceChangeEvent = z.object({
  version: ShortText,
  id: storableString({ min: 1, max: 128 }),
  'detail-type': z.literal('Config Rules Compliance Change'),
  source: EventSource,
  /** Only on events driftwatch built itself (source driftwatch.*). */
  driftwatch: SyntheticMark.optional(),
  account: AccountId,
  time: IsoTimestamp,
  region: Region,
  resources: z.array(LongText).max(1_000).default([]),
  detail: z.object({
    resourceId: ResourceId,
    awsRegion: Region,
    awsAccountId: AccountId,
    configRuleName: RuleName,
    recordVersion: ShortText.optional(),
    configRuleARN: LongText.optional(),
    messageType: z.literal('ComplianceChangeNotification'),
    newEvaluationResult: EvaluationResult.optional(),
    oldEvaluationResult: EvaluationResult.optional(),
    notificationCreationTime: IsoTimestamp,
    resourceType: ResourceType,
  }),
});
export type ComplianceChangeEvent = z.infer<typeof ComplianceChangeEvent>;
