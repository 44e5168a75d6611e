import { z } from 'zod';

export const Severity = z.enum(['Critical', 'High', 'Medium', 'Low']);
export type Severity = z.infer<typeof Severity>;

/** ProductionOnly rules apply to accounts whose environment is production; All rules apply everywhere. */
export const RuleScope = z.enum(['ProductionOnly', 'All']);
export type RuleScope = z.infer<typeof RuleScope>;

/** How often AWS Config runs a periodic rule (the values of MaximumExecutionFrequency). */
export const ExecutionFrequency = z.enum(['One_Hour', 'Three_Hours', 'Six_Hours', 'Twelve_Hours', 'TwentyFour_Hours']);
export type ExecutionFrequency = z.infer<typeof ExecutionFrequency>;

/**
 * One rule of the catalog, keyed by its normalized name (no OrgConfigRule-/conformance-pack/securityhub affixes).
 *
 * @example
 * { name: 'root-account-mfa-enabled', title: 'Root account has MFA', severity: 'Critical', scope: 'All',
 *   category: 'root-account', risk: 'Anyone with the root password controls the account.',
 *   remediation: 'Enable a hardware MFA device on the root user.', runbookUrl: 'https://wiki.example.com/rules/root-account-mfa-enabled',
 *   managedRuleIdentifier: 'ROOT_ACCOUNT_MFA_ENABLED', maximumExecutionFrequency: 'TwentyFour_Hours' }
 */
export const RuleDefinition = z.object({
  name: z.string().min(1),
  title: z.string().min(1),
  severity: Severity,
  scope: RuleScope,
  category: z.string().default('general'),
  risk: z.string().default(''),
  remediation: z.string().default(''),
  // A link people click in Slack: http(s) only (no javascript:, data: or file: links).
  runbookUrl: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// link' }).optional(),
  /** True for the Lambda custom rules of infra/aws/custom-rules (deployed with their own triggers). */
  custom: z.boolean().default(false),
  // Deployment (infra/aws emits one AWS::Config::OrganizationConfigRule per rule; the pipeline ignores these).
  /** The AWS managed rule identifier, e.g. INCOMING_SSH_DISABLED for restricted-ssh; required unless custom. */
  managedRuleIdentifier: z.string().regex(/^[A-Z0-9_]{1,128}$/, 'expected an identifier such as S3_BUCKET_PUBLIC_READ_PROHIBITED').optional(),
  /** The rule's input parameters (AWS Config takes strings only). */
  inputParameters: z.record(z.string(), z.string()).optional(),
  /** Resource types a change-triggered rule evaluates, e.g. AWS::S3::Bucket. */
  resourceTypes: z.array(z.string().regex(/^AWS::[A-Za-z0-9]+::[A-Za-z0-9]+$/, 'expected a type such as AWS::S3::Bucket')).min(1).optional(),
  /** For periodic rules: how often AWS Config runs them. */
  maximumExecutionFrequency: ExecutionFrequency.optional(),
  /** False keeps a rule in the catalog (enrichment) but out of the organization rules, e.g. Security Hub controls. */
  deploy: z.boolean().optional(),
});
export type RuleDefinition = z.infer<typeof RuleDefinition>;

/**
 * A catalog file: rules that override or extend the built-in catalog, and what an unknown rule gets.
 *
 * @example
 * { defaults: { severity: 'Medium', scope: 'All' }, rules: [{ name: 'my-rule', title: 'My rule', severity: 'High', scope: 'All' }] }
 */
export const RuleCatalogFile = z.object({
  defaults: z.object({ severity: Severity.default('Medium'), scope: RuleScope.default('All') }).prefault({}),
  rules: z.array(RuleDefinition).default([]),
});
export type RuleCatalogFile = z.infer<typeof RuleCatalogFile>;
