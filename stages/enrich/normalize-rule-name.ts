// Org rules, conformance packs and Security Hub deploy one rule under per-account names; findings must group by the rule.
const Patterns: readonly RegExp[] = [
  /^OrgConfigRule-(.+)-[a-z0-9]{4,}$/i,
  /^(.+)-conformance-pack-[a-z0-9]{4,}$/i,
  /^securityhub-(.+)-[a-z0-9]{4,}$/i,
];

/**
 * `OrgConfigRule-<name>-<suffix>`, `<name>-conformance-pack-<suffix>`, `securityhub-<control>-<suffix>` -> `<name>`.
 * Any other name is already normal.
 */
export function normalizeRuleName(configRuleName: string): string {
  for (const pattern of Patterns) {
    const match = pattern.exec(configRuleName);
    if (match?.[1]) return match[1];
  }
  return configRuleName;
}
