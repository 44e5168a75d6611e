import { z } from 'zod';

/**
 * The event AWS Config sends a custom Lambda rule; `invokingEvent` and `ruleParameters` are JSON in strings.
 *
 * @example
 * { version: '1.0', invokingEvent: '{"messageType":"ScheduledNotification",...}', ruleParameters: '{}',
 *   resultToken: 'token', eventLeftScope: false, executionRoleArn: 'arn:aws:iam::111122223333:role/config-role',
 *   configRuleArn: 'arn:aws:config:eu-west-1:111122223333:config-rule/config-rule-abc123',
 *   configRuleName: 'OrgConfigRule-ami-not-public-k3j2h1', configRuleId: 'config-rule-abc123', accountId: '111122223333' }
 */
export const ConfigRuleEvent = z.object({
  version: z.string().optional(),
  invokingEvent: z.string(),
  ruleParameters: z.string().optional(),
  resultToken: z.string(),
  eventLeftScope: z.boolean().default(false),
  executionRoleArn: z.string().optional(),
  configRuleArn: z.string().regex(/^arn:aws[a-z-]*:config:[a-z0-9-]+:\d{12}:config-rule\//, 'expected a config-rule ARN'),
  configRuleName: z.string().min(1),
  configRuleId: z.string().optional(),
  accountId: z.string().regex(/^\d{12}$/),
  evaluationMode: z.string().optional(),
});
export type ConfigRuleEvent = z.infer<typeof ConfigRuleEvent>;

/** A configuration item as Config delivers it to rules (the fields the rules read; the rest passes through). */
export const ConfigurationItem = z.looseObject({
  configurationItemCaptureTime: z.string(),
  configurationItemStatus: z.enum(['OK', 'ResourceDiscovered', 'ResourceNotRecorded', 'ResourceDeleted', 'ResourceDeletedNotRecorded']),
  resourceType: z.string(),
  resourceId: z.string(),
  resourceName: z.string().nullish(),
  awsAccountId: z.string().optional(),
  awsRegion: z.string().optional(),
  configuration: z.unknown().nullish(),
});
export type ConfigurationItem = z.infer<typeof ConfigurationItem>;

export const InvokingEvent = z.discriminatedUnion('messageType', [
  z.looseObject({
    messageType: z.literal('ConfigurationItemChangeNotification'),
    configurationItem: ConfigurationItem,
    notificationCreationTime: z.string(),
  }),
  z.looseObject({
    messageType: z.literal('OversizedConfigurationItemChangeNotification'),
    configurationItemSummary: z.looseObject({
      configurationItemCaptureTime: z.string(),
      configurationItemStatus: ConfigurationItem.shape.configurationItemStatus,
      resourceType: z.string(),
      resourceId: z.string(),
    }),
    notificationCreationTime: z.string(),
  }),
  z.looseObject({
    messageType: z.literal('ScheduledNotification'),
    awsAccountId: z.string().optional(),
    notificationCreationTime: z.string(),
  }),
]);
export type InvokingEvent = z.infer<typeof InvokingEvent>;

export type ComplianceType = 'COMPLIANT' | 'NON_COMPLIANT' | 'NOT_APPLICABLE';

/** One result to report with PutEvaluations. */
export interface RuleEvaluation {
  readonly resourceType: string;
  readonly resourceId: string;
  readonly compliance: ComplianceType;
  /** Why, for a person reading the finding (AWS Config keeps at most 256 characters). */
  readonly annotation?: string;
}

/** Region and partition of the rule, from its ARN: where the evaluated resources live. */
export function ruleLocation(configRuleArn: string): { partition: string; region: string } {
  const [, partition, , region] = configRuleArn.split(':');
  return { partition: partition!, region: region! };
}
