import type { ComplianceChangeEvent, ComplianceType } from '../../schemas/compliance-change-event.ts';

export interface EventSpec {
  readonly id: string;
  readonly resourceId: string;
  readonly compliance: ComplianceType;
  /** orderingTimestamp, epoch ms */
  readonly at: number;
  readonly account?: string;
  readonly region?: string;
  readonly configRuleName?: string;
  readonly resourceType?: string;
  readonly annotation?: string;
}

/** A compliance-change event of AWS's documented shape, with only what a test cares about varied. */
export function complianceEvent(spec: EventSpec): ComplianceChangeEvent {
  const account = spec.account ?? '111122223333';
  const region = spec.region ?? 'us-east-1';
  const configRuleName = spec.configRuleName ?? 'OrgConfigRule-s3-bucket-public-write-prohibited-a1b2c3d4';
  const resourceType = spec.resourceType ?? 'AWS::S3::Bucket';
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    version: '0',
    id: spec.id,
    'detail-type': 'Config Rules Compliance Change',
    source: 'aws.config',
    account,
    time: iso(spec.at + 30_000),
    region,
    resources: [],
    detail: {
      resourceId: spec.resourceId,
      awsRegion: region,
      awsAccountId: account,
      configRuleName,
      recordVersion: '1.0',
      messageType: 'ComplianceChangeNotification',
      newEvaluationResult: {
        evaluationResultIdentifier: { evaluationResultQualifier: { configRuleName, resourceType, resourceId: spec.resourceId }, orderingTimestamp: iso(spec.at) },
        complianceType: spec.compliance,
        resultRecordedTime: iso(spec.at + 29_000),
        configRuleInvokedTime: iso(spec.at + 28_000),
        ...(spec.annotation ? { annotation: spec.annotation } : {}),
      },
      notificationCreationTime: iso(spec.at + 30_000),
      resourceType,
    },
  };
}
