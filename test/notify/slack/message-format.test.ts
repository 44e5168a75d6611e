import { describe, expect, it } from 'vitest';
import { escapeMrkdwn, formatDuration, safeText } from '../../../pipeline/notify/slack/mrkdwn.ts';
import { MessageFormatter } from '../../../pipeline/notify/slack/message-format.ts';
import type { FindingSnapshot } from '../../../pipeline/notify/notification-payload.ts';
import { RuleCatalog } from '../../../stages/enrich/rule-catalog.ts';
import { RuleDefinition } from '../../../schemas/rule-catalog.ts';

const Dangerous = ['<!channel>', '<!here>', '<!everyone>', '<@U123>', '<#C0123|general>', '<http://x|click>', '<!subteam^S1|@oncall>'];

/** Every mrkdwn string of a message: the fallback text and every text object in the blocks. */
function mrkdwnParts(message: { text: string; blocks: readonly unknown[] }): string[] {
  const parts = [message.text];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === 'object') {
      const obj = value as Record<string, unknown>;
      if (obj.type === 'mrkdwn' && typeof obj.text === 'string') parts.push(obj.text);
      Object.values(obj).forEach(visit);
    }
  };
  visit(message.blocks);
  return parts;
}

const finding = (overrides: Partial<FindingSnapshot> = {}): FindingSnapshot => ({
  findingId: 'f-1',
  evaluationKey: '111111111111|us-east-1|s3-bucket-public-write-prohibited|AWS::S3::Bucket|b',
  accountId: '111111111111',
  accountName: 'payments-prod',
  region: 'us-east-1',
  rule: 's3-bucket-public-write-prohibited',
  configRuleName: 'OrgConfigRule-s3-bucket-public-write-prohibited-a1b2',
  ruleTitle: 'S3 buckets do not allow public write',
  resourceType: 'AWS::S3::Bucket',
  resourceId: 'b',
  severity: 'Critical',
  environment: 'production',
  owner: 'payments',
  slackChannel: '#payments-alerts',
  annotation: null,
  status: 'open',
  openedAt: Date.parse('2026-03-02T09:00:00Z'),
  openedEventId: 'e-1',
  deadline: Date.parse('2026-03-02T13:00:00Z'),
  resolvedAt: null,
  resolution: null,
  resolvedEventId: null,
  ...overrides,
});

describe('mrkdwn escaping', () => {
  it.each([
    ['<!channel>', '&lt;!channel&gt;'],
    ['<@U123>', '&lt;@U123&gt;'],
    ['<http://x|click>', '&lt;http://x|click&gt;'],
    ['a & b', 'a &amp; b'],
    ['&lt; already', '&amp;lt; already'],
    ['plain-bucket_name.01', 'plain-bucket_name.01'],
  ])('%s -> %s', (input, expected) => {
    expect(escapeMrkdwn(input)).toBe(expected);
  });

  it('never cuts an entity in half when shortening', () => {
    expect(safeText('aaaa<b', 6)).toBe('aaaa…');
    expect(safeText('ab<', 20)).toBe('ab&lt;');
  });

  it('formats durations', () => {
    expect([45_000, 12 * 60_000, 3 * 3_600_000 + 4 * 60_000, 2 * 86_400_000 + 5 * 3_600_000].map(formatDuration)).toEqual(['45s', '12m', '3h 4m', '2d 5h']);
  });
});

describe('MessageFormatter', () => {
  const formatter = new MessageFormatter({
    catalog: new RuleCatalog(
      [RuleDefinition.parse({ name: 's3-bucket-public-write-prohibited', title: 'S3 buckets do not allow public write', severity: 'Critical', scope: 'All', runbookUrl: 'https://wiki.example.com/s3-write' })],
      { severity: 'Medium', scope: 'All' },
    ),
    runbookBaseUrl: 'https://wiki.example.com/runbooks/',
  });

  it.each(Dangerous)('a resource id, annotation, account name or owner of %s pings nobody', (attack) => {
    const message = formatter.alert({
      finding: finding({ resourceId: `bucket ${attack}`, annotation: `found ${attack} & more`, accountName: `acct ${attack}`, owner: `team ${attack}`, resourceType: `AWS::S3::Bucket${attack}` }),
      state: 'open',
      flaps: 0,
      variant: 'new',
    });
    for (const part of mrkdwnParts(message)) expect(part).not.toContain(attack);
    const joined = mrkdwnParts(message).join('\n');
    expect(joined).toContain(escapeMrkdwn(attack));
    // The only control sequences left are the ones driftwatch wrote: dates.
    expect(joined.match(/<[^>]*>/g)?.every((seq) => seq.startsWith('<!date^'))).toBe(true);
  });

  it('renders an open alert with severity, rule, account, region, resource, annotation, deadline and links', () => {
    const message = formatter.alert({ finding: finding({ annotation: 'ACL grants WRITE to AllUsers' }), state: 'open', flaps: 0, variant: 'new' });
    const json = JSON.stringify(message.blocks);
    expect(message.blocks[0]).toMatchObject({ type: 'header', text: { type: 'plain_text', text: ':rotating_light: Critical · Not compliant: S3 buckets do not allow public write' } });
    for (const expected of ['payments-prod', '111111111111', 'production', 'us-east-1', 'AWS::S3::Bucket', 'ACL grants WRITE to AllUsers', 's3-bucket-public-write-prohibited', '<!date^1772456400^']) {
      expect(json).toContain(expected);
    }
    expect(json).toContain('https://us-east-1.console.aws.amazon.com/config/home?region=us-east-1#/resources/details?resourceId=b&resourceType=AWS%3A%3AS3%3A%3ABucket');
    expect(json).toContain('https://wiki.example.com/s3-write');
    expect(message.text).toBe('OPEN Critical · Not compliant: S3 buckets do not allow public write · AWS::S3::Bucket b in payments-prod (111111111111, production) us-east-1');
  });

  it('uses the runbook base URL for a rule without its own runbook, and encodes odd resource ids in the console link', () => {
    const message = formatter.alert({ finding: finding({ rule: 'custom rule/x', resourceId: 'arn:aws:s3:::a b&c' }), state: 'open', flaps: 0, variant: 'new' });
    const json = JSON.stringify(message.blocks);
    expect(json).toContain('https://wiki.example.com/runbooks/custom%20rule%2Fx');
    expect(json).toContain('resourceId=arn%3Aaws%3As3%3A%3A%3Aa%20b%26c&resourceType=');
  });

  it('refuses to build a console link from a region that is not one', () => {
    expect(formatter.configConsoleUrl('evil.com/x?', 'AWS::S3::Bucket', 'b')).toBeNull();
  });

  it.each([
    ['COMPLIANT', 'compliant again after *2h 30m*', 'Now compliant'],
    ['NOT_APPLICABLE', 'no longer applicable after *2h 30m*', 'No longer applicable'],
    ['DELETED', 'resource deleted after *2h 30m*', 'Resource deleted'],
  ] as const)('a resolved alert says how (%s) and how long it took', (resolution, expected, verdict) => {
    const resolvedAt = Date.parse('2026-03-02T11:30:00Z');
    const message = formatter.alert({ finding: finding({ status: 'resolved', resolvedAt, resolution }), state: 'resolved', flaps: 0, variant: 'new' });
    // The header says what is fine now (catalog titles name the desired state).
    expect(message.blocks[0]).toMatchObject({ text: { text: `:white_check_mark: Resolved · ${verdict}: S3 buckets do not allow public write` } });
    expect(JSON.stringify(message.blocks)).toContain(expected);
    expect(message.text).toMatch(/^RESOLVED/);
  });

  it('escapes the digest lists too', () => {
    const message = formatter.digest({
      kind: 'opened', rule: 's3-bucket-public-write-prohibited', ruleTitle: 'S3', severity: 'Critical', startedAt: 0, updatedAt: 0, total: 3, open: 2,
      byAccount: [{ accountId: '1', accountName: '<!channel>', total: 3, open: 2 }], accounts: 1,
      byRegion: [{ region: 'us-east-1', total: 3, open: 2 }], regions: 1,
      topResources: [{ resourceType: 'AWS::S3::Bucket', resourceId: '<@U1>', accountName: 'a', region: 'us-east-1' }],
    });
    const parts = mrkdwnParts(message).join('\n');
    expect(parts).not.toContain('<!channel>');
    expect(parts).not.toContain('<@U1>');
    expect(parts).toContain('driftwatch findings --rule s3-bucket-public-write-prohibited --status open');
  });
});
