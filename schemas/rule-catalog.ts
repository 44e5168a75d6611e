import { z } from 'zod';

export const Severity = z.enum(['Critical', 'High', 'Medium', 'Low']);
export type Severity = z.infer<typeof Severity>;

/** ProductionOnly rules apply to accounts whose environment is production; All rules apply everywhere. */
export const RuleScope = z.enum(['ProductionOnly', 'All']);
export type RuleScope = z.infer<typeof RuleScope>;

/**
 * One rule of the catalog, keyed by its normalized name (no OrgConfigRule-/conformance-pack/securityhub affixes).
 *
 * @example
 * { name: 'root-account-mfa-enabled', title: 'Root account has MFA', severity: 'Critical', scope: 'All',
 *   category: 'root-account', risk: 'Anyone with the root password controls the account.',
 *   remediation: 'Enable a hardware MFA device on the root user.', runbookUrl: 'https://wiki.example.com/rules/root-account-mfa-enabled' }
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
  custom: z.boolean().default(false),
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
