import { describe, expect, it } from 'vitest';
import { normalizeRuleName } from '../../stages/enrich/normalize-rule-name.ts';
import { BuiltInRules } from '../../stages/enrich/built-in-rules.ts';
import { readSample, sampleFiles } from './stage-fixtures.ts';

describe('normalizeRuleName', () => {
  it.each([
    // Organization rules: OrgConfigRule-<name>-<suffix>
    ['OrgConfigRule-s3-bucket-public-write-prohibited-a1b2c3d4', 's3-bucket-public-write-prohibited'],
    ['OrgConfigRule-restricted-ssh-0z9y8x7w', 'restricted-ssh'],
    ['OrgConfigRule-s3-bucket-logging-enabled-3xk9qz1a', 's3-bucket-logging-enabled'],
    ['OrgConfigRule-api-gw-execution-logging-enabled-abcd', 'api-gw-execution-logging-enabled'],
    ['OrgConfigRule-ec2-imdsv2-check-K2J8X0PQ', 'ec2-imdsv2-check'],
    // Conformance packs: <name>-conformance-pack-<suffix>
    ['root-account-mfa-enabled-conformance-pack-k2j8x0pq', 'root-account-mfa-enabled'],
    ['s3-bucket-ssl-requests-only-conformance-pack-0abcd123', 's3-bucket-ssl-requests-only'],
    ['my-rule-2024-conformance-pack-k2j8x0pq', 'my-rule-2024'],
    // Security Hub controls: securityhub-<control>-<suffix>
    ['securityhub-iam-root-access-key-check-xyz123ab', 'iam-root-access-key-check'],
    ['securityhub-s3-bucket-public-read-prohibited-8e9f5a2c', 's3-bucket-public-read-prohibited'],
    ['securityhub-access-keys-rotated-1a2b3c4d', 'access-keys-rotated'],
    // Plain names stay as they are, including names with dashes and digits.
    ['restricted-ssh', 'restricted-ssh'],
    ['securityhub-enabled', 'securityhub-enabled'],
    ['ec2-imdsv2-check', 'ec2-imdsv2-check'],
    ['s3-bucket-public-read-prohibited', 's3-bucket-public-read-prohibited'],
    ['cloud-trail-log-file-validation-enabled', 'cloud-trail-log-file-validation-enabled'],
    ['rule2', 'rule2'],
    // Too short to be a generated suffix: not stripped.
    ['OrgConfigRule-cloudtrail-enabled-abc', 'OrgConfigRule-cloudtrail-enabled-abc'],
    ['conformance-pack-abcd1234', 'conformance-pack-abcd1234'],
  ])('%s -> %s', (configRuleName, expected) => {
    expect(normalizeRuleName(configRuleName)).toBe(expected);
  });

  it.each(sampleFiles())('normalizes the rule of the sample %s to a built-in rule', (file) => {
    const event = JSON.parse(readSample(file).toString('utf8'));
    const normalized = normalizeRuleName(event.detail.configRuleName);
    expect(normalized).not.toBe(event.detail.configRuleName);
    expect(BuiltInRules.map((rule) => rule.name)).toContain(normalized);
  });

  it('maps the two samples to their rules', () => {
    expect(normalizeRuleName('OrgConfigRule-vpc-sg-open-only-to-authorized-ports-3xk9qz1a')).toBe('vpc-sg-open-only-to-authorized-ports');
    expect(normalizeRuleName('root-account-mfa-enabled-conformance-pack-k2j8x0pq')).toBe('root-account-mfa-enabled');
  });

  it('leaves every built-in rule name unchanged', () => {
    for (const { name } of BuiltInRules) expect(normalizeRuleName(name)).toBe(name);
  });

  it('is idempotent on every deployment style of every built-in rule', () => {
    for (const { name } of BuiltInRules) {
      for (const deployed of [`OrgConfigRule-${name}-a1b2c3d4`, `${name}-conformance-pack-k2j8x0pq`, `securityhub-${name}-8e9f5a2c`]) {
        expect(normalizeRuleName(deployed)).toBe(name);
        expect(normalizeRuleName(normalizeRuleName(deployed))).toBe(name);
      }
    }
  });
});
