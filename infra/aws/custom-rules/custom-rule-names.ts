/** Catalog rules implemented as Lambda custom rules in this folder (one sub-folder each, with handler.ts). */
export const CustomRuleNames: readonly string[] = ['ami-not-public', 'vpc-flow-logs-enabled-with-eni', 'iam-user-no-console-login'];
