import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AmiNotPublicRule } from '../../infra/aws/custom-rules/ami-not-public/ami-not-public-rule.ts';
import { iamUserConsoleLoginRule } from '../../infra/aws/custom-rules/iam-user-no-console-login/iam-user-console-login-rule.ts';
import type { CustomRule } from '../../infra/aws/custom-rules/shared/custom-rule.ts';
import { awsRuleClients } from '../../infra/aws/custom-rules/shared/rule-clients.ts';
import { createCustomRuleHandler } from '../../infra/aws/custom-rules/shared/run-custom-rule.ts';
import { VpcFlowLogsRule } from '../../infra/aws/custom-rules/vpc-flow-logs-enabled-with-eni/vpc-flow-logs-rule.ts';
import {
  FunctionArn, MemberAccountId, OwnAccountId, Region, changeNotification, historyItem, iamUserItem, oversizedNotification, ruleEvent,
  scheduledNotification, vpcItem,
} from './support/config-rule-events.ts';
import { LocalAwsServer } from './support/local-aws-server.ts';

// The custom Config rules through the real SDK clients (EC2, IAM, STS, Config) against a local server speaking
// their protocols: member-account calls go through STS AssumeRole, every result is reported with PutEvaluations.
let server: LocalAwsServer;
let endpoint: string;

beforeAll(async () => {
  server = new LocalAwsServer(OwnAccountId);
  endpoint = await server.start();
});
afterAll(() => server.stop());
beforeEach(() => {
  server.accounts.clear();
  server.calls.length = 0;
  server.putEvaluations.length = 0;
  server.pageSize = 2;
  server.account(MemberAccountId);
});
afterEach(() => {
  server.throttle('ec2', 'DescribeImages', 0);
});

function handlerFor(rule: CustomRule) {
  const clients = awsRuleClients({ evaluatorRoleName: 'driftwatch-config-rule-evaluator', endpoint, credentials: server.ownCredentials, maxAttempts: 4 });
  const handler = createCustomRuleHandler(rule, clients);
  return (event: Record<string, unknown>) => handler(event, { invokedFunctionArn: FunctionArn });
}

/** Evaluations Config received, as `resourceId -> compliance`, with the account they were reported in. */
function reported(): { accountId: string; byResource: Record<string, string> } {
  const byResource: Record<string, string> = {};
  for (const call of server.putEvaluations) for (const e of call.evaluations) byResource[e.ComplianceResourceId] = e.ComplianceType;
  return { accountId: server.putEvaluations[0]?.accountId ?? '', byResource };
}

describe('vpc-flow-logs-enabled-with-eni', () => {
  const handle = () => handlerFor(VpcFlowLogsRule);

  it('a VPC with network interfaces and an active flow log is COMPLIANT, reported in the member account', async () => {
    const account = server.account(MemberAccountId);
    account.networkInterfaces.push({ id: 'eni-01', vpcId: 'vpc-0a1' });
    account.flowLogs.push({ id: 'fl-old', resourceId: 'vpc-0a1', status: 'INACTIVE' }, { id: 'fl-9', resourceId: 'vpc-0b2', status: 'ACTIVE' }, { id: 'fl-1', resourceId: 'vpc-0a1', status: 'ACTIVE' });
    const result = await handle()(ruleEvent('vpc-flow-logs-enabled-with-eni', changeNotification(vpcItem('vpc-0a1'))));
    expect(result).toMatchObject({ reported: 1, byCompliance: { COMPLIANT: 1 } });
    expect(reported()).toEqual({ accountId: MemberAccountId, byResource: { 'vpc-0a1': 'COMPLIANT' } });
    const put = server.putEvaluations[0]!;
    expect(put.resultToken).toBe('result-token-vpc-flow-logs-enabled-with-eni');
    expect(put.evaluations[0]).toMatchObject({ ComplianceResourceType: 'AWS::EC2::VPC', OrderingTimestamp: Date.parse('2026-11-30T10:14:58.000Z') / 1000 });
    const [assume] = server.callsOf('sts', 'AssumeRole');
    expect(assume).toMatchObject({ accountId: OwnAccountId, params: { RoleArn: `arn:aws:iam::${MemberAccountId}:role/driftwatch-config-rule-evaluator` } });
    expect(server.callsOf('ec2', 'DescribeFlowLogs').every((call) => call.accountId === MemberAccountId)).toBe(true);
  });

  it('a VPC with network interfaces and no active flow log is NON_COMPLIANT with a reason', async () => {
    const account = server.account(MemberAccountId);
    account.networkInterfaces.push({ id: 'eni-01', vpcId: 'vpc-0a1' });
    account.flowLogs.push({ id: 'fl-old', resourceId: 'vpc-0a1', status: 'INACTIVE' });
    await handle()(ruleEvent('vpc-flow-logs-enabled-with-eni', changeNotification(vpcItem('vpc-0a1'))));
    expect(reported().byResource).toEqual({ 'vpc-0a1': 'NON_COMPLIANT' });
    expect(server.putEvaluations[0]!.evaluations[0]!.Annotation).toContain('no active flow log');
  });

  it('a VPC without network interfaces (the unused default VPC) is NOT_APPLICABLE, not NON_COMPLIANT', async () => {
    server.account(MemberAccountId).networkInterfaces.push({ id: 'eni-elsewhere', vpcId: 'vpc-other' });
    await handle()(ruleEvent('vpc-flow-logs-enabled-with-eni', changeNotification(vpcItem('vpc-default'))));
    expect(reported().byResource).toEqual({ 'vpc-default': 'NOT_APPLICABLE' });
    expect(server.callsOf('ec2', 'DescribeNetworkInterfaces')[0]!.params).toMatchObject({ 'Filter.1.Name': 'vpc-id', 'Filter.1.Value.1': 'vpc-default', MaxResults: '5' });
  });

  it('a deleted VPC is NOT_APPLICABLE without asking EC2', async () => {
    await handle()(ruleEvent('vpc-flow-logs-enabled-with-eni', changeNotification(vpcItem('vpc-gone', 'ResourceDeleted'))));
    expect(reported().byResource).toEqual({ 'vpc-gone': 'NOT_APPLICABLE' });
    expect(server.calls.filter((call) => call.service === 'ec2')).toEqual([]);
  });

  it('a resource that left the rule scope, or of another type, is NOT_APPLICABLE', async () => {
    await handle()(ruleEvent('vpc-flow-logs-enabled-with-eni', changeNotification(vpcItem('vpc-0a1')), { eventLeftScope: true }));
    const subnet = { ...vpcItem('subnet-0c3'), resourceType: 'AWS::EC2::Subnet' };
    await handle()(ruleEvent('vpc-flow-logs-enabled-with-eni', changeNotification(subnet)));
    expect(reported().byResource).toEqual({ 'vpc-0a1': 'NOT_APPLICABLE', 'subnet-0c3': 'NOT_APPLICABLE' });
  });

  it('an oversized change is evaluated from the configuration history', async () => {
    const account = server.account(MemberAccountId);
    account.networkInterfaces.push({ id: 'eni-01', vpcId: 'vpc-big' });
    account.configHistory.set('AWS::EC2::VPC/vpc-big', historyItem(vpcItem('vpc-big')));
    await handle()(ruleEvent('vpc-flow-logs-enabled-with-eni', oversizedNotification('AWS::EC2::VPC', 'vpc-big')));
    expect(reported().byResource).toEqual({ 'vpc-big': 'NON_COMPLIANT' });
    expect(server.callsOf('config', 'GetResourceConfigHistory')[0]!.params).toMatchObject({ resourceType: 'AWS::EC2::VPC', resourceId: 'vpc-big', limit: 1 });
  });

  it('the daily sweep pages through VPCs, judges each, and turns VPCs that no longer exist NOT_APPLICABLE', async () => {
    const account = server.account(MemberAccountId);
    account.vpcs.push('vpc-1', 'vpc-2', 'vpc-3', 'vpc-4', 'vpc-5');
    account.networkInterfaces.push({ id: 'eni-1', vpcId: 'vpc-1' }, { id: 'eni-2', vpcId: 'vpc-2' });
    account.flowLogs.push({ id: 'fl-1', resourceId: 'vpc-1', status: 'ACTIVE' });
    account.complianceResults.push(
      { ruleName: 'OrgConfigRule-vpc-flow-logs-enabled-with-eni-x7d9sk2a', resourceType: 'AWS::EC2::VPC', resourceId: 'vpc-2', compliance: 'NON_COMPLIANT' },
      { ruleName: 'OrgConfigRule-vpc-flow-logs-enabled-with-eni-x7d9sk2a', resourceType: 'AWS::EC2::VPC', resourceId: 'vpc-deleted', compliance: 'NON_COMPLIANT' },
      { ruleName: 'OrgConfigRule-vpc-flow-logs-enabled-with-eni-x7d9sk2a', resourceType: 'AWS::EC2::VPC', resourceId: 'vpc-deleted-too', compliance: 'COMPLIANT' },
      { ruleName: 'OrgConfigRule-other-rule-aaaa', resourceType: 'AWS::EC2::VPC', resourceId: 'vpc-of-another-rule', compliance: 'NON_COMPLIANT' },
    );
    const result = await handle()(ruleEvent('vpc-flow-logs-enabled-with-eni', scheduledNotification()));
    expect(reported().byResource).toEqual({
      'vpc-1': 'COMPLIANT', 'vpc-2': 'NON_COMPLIANT', 'vpc-3': 'NOT_APPLICABLE', 'vpc-4': 'NOT_APPLICABLE', 'vpc-5': 'NOT_APPLICABLE',
      'vpc-deleted': 'NOT_APPLICABLE', 'vpc-deleted-too': 'NOT_APPLICABLE',
    });
    expect(result.reported).toBe(7);
    expect(server.callsOf('ec2', 'DescribeVpcs').length).toBe(3);
    expect(server.callsOf('config', 'GetComplianceDetailsByConfigRule').length).toBe(2);
    expect(server.putEvaluations[0]!.evaluations[0]!.OrderingTimestamp).toBe(Date.parse('2026-11-30T00:00:12.421Z') / 1000);
  });
});

describe('iam-user-no-console-login', () => {
  const handle = (globalRegion: string | undefined = Region) => handlerFor(iamUserConsoleLoginRule(globalRegion));

  it('a user with a login profile is NON_COMPLIANT; looked up by name, reported by user id', async () => {
    server.account(MemberAccountId).loginProfiles.add('alice');
    await handle()(ruleEvent('iam-user-no-console-login', changeNotification(iamUserItem('AIDAALICE0000000001', 'alice'))));
    expect(reported().byResource).toEqual({ AIDAALICE0000000001: 'NON_COMPLIANT' });
    expect(server.callsOf('iam', 'GetLoginProfile')[0]!.params).toMatchObject({ UserName: 'alice' });
  });

  it('a user without a login profile (IAM answers NoSuchEntity) is COMPLIANT', async () => {
    await handle()(ruleEvent('iam-user-no-console-login', changeNotification(iamUserItem('AIDABOB000000000002', 'bob'))));
    expect(reported().byResource).toEqual({ AIDABOB000000000002: 'COMPLIANT' });
  });

  it('a deleted user is NOT_APPLICABLE without asking IAM', async () => {
    await handle()(ruleEvent('iam-user-no-console-login', changeNotification(iamUserItem('AIDAGONE00000000003', 'gone', 'ResourceDeleted'))));
    expect(reported().byResource).toEqual({ AIDAGONE00000000003: 'NOT_APPLICABLE' });
    expect(server.callsOf('iam', 'GetLoginProfile')).toEqual([]);
  });

  it('a user that left the scope is NOT_APPLICABLE', async () => {
    server.account(MemberAccountId).loginProfiles.add('carol');
    await handle()(ruleEvent('iam-user-no-console-login', changeNotification(iamUserItem('AIDACAROL0000000004', 'carol')), { eventLeftScope: true }));
    expect(reported().byResource).toEqual({ AIDACAROL0000000004: 'NOT_APPLICABLE' });
  });

  it('the sweep pages ListUsers through throttling in the global-resources region', async () => {
    const account = server.account(MemberAccountId);
    account.users.push({ userId: 'AIDA1', userName: 'u1' }, { userId: 'AIDA2', userName: 'u2' }, { userId: 'AIDA3', userName: 'u3' });
    account.loginProfiles.add('u2');
    server.throttle('iam', 'ListUsers', 2);
    await handle()(ruleEvent('iam-user-no-console-login', scheduledNotification()));
    expect(reported().byResource).toEqual({ AIDA1: 'COMPLIANT', AIDA2: 'NON_COMPLIANT', AIDA3: 'COMPLIANT' });
    expect(server.callsOf('iam', 'ListUsers').length).toBe(4);
  });

  it('the sweep reports nothing in other regions (IAM users are global)', async () => {
    server.account(MemberAccountId).users.push({ userId: 'AIDA1', userName: 'u1' });
    const result = await handle('us-east-1')(ruleEvent('iam-user-no-console-login', scheduledNotification()));
    expect(result.reported).toBe(0);
    expect(server.callsOf('iam', 'ListUsers')).toEqual([]);
  });

  it('the own account is evaluated with the function role, without AssumeRole', async () => {
    server.account(OwnAccountId).loginProfiles.add('admin');
    await handle()(ruleEvent('iam-user-no-console-login', changeNotification(iamUserItem('AIDAADMIN0000000005', 'admin')), { accountId: OwnAccountId }));
    expect(reported()).toEqual({ accountId: OwnAccountId, byResource: { AIDAADMIN0000000005: 'NON_COMPLIANT' } });
    expect(server.callsOf('sts', 'AssumeRole')).toEqual([]);
  });
});

describe('ami-not-public', () => {
  const handle = () => handlerFor(AmiNotPublicRule);

  it('sweeps the account own images: public ones NON_COMPLIANT, private COMPLIANT, deregistered NOT_APPLICABLE', async () => {
    const account = server.account(MemberAccountId);
    account.images.push({ imageId: 'ami-pub', name: 'golden-2026-11', public: true }, { imageId: 'ami-priv', name: 'golden-2026-10', public: false }, { imageId: 'ami-priv2', name: 'build <x>', public: false });
    account.complianceResults.push({ ruleName: 'OrgConfigRule-ami-not-public-x7d9sk2a', resourceType: 'AWS::EC2::Image', resourceId: 'ami-deregistered', compliance: 'NON_COMPLIANT' });
    server.throttle('ec2', 'DescribeImages', 1);
    await handle()(ruleEvent('ami-not-public', scheduledNotification()));
    expect(reported().byResource).toEqual({ 'ami-pub': 'NON_COMPLIANT', 'ami-priv': 'COMPLIANT', 'ami-priv2': 'COMPLIANT', 'ami-deregistered': 'NOT_APPLICABLE' });
    expect(server.putEvaluations[0]!.evaluations.find((e) => e.ComplianceResourceId === 'ami-pub')!.Annotation).toContain('golden-2026-11 is public');
    expect(server.callsOf('ec2', 'DescribeImages').map((call) => call.params['Owner.1'])).toEqual(['self', 'self', 'self']);
  });

  it('a change notification for anything (Config records no AMIs) is NOT_APPLICABLE', async () => {
    await handle()(ruleEvent('ami-not-public', changeNotification(vpcItem('vpc-0a1'))));
    expect(reported().byResource).toEqual({ 'vpc-0a1': 'NOT_APPLICABLE' });
  });

  it('reports in calls of at most 100 and sends evaluations Config refused once more', async () => {
    server.pageSize = 1000;
    const account = server.account(MemberAccountId);
    for (let i = 0; i < 150; i++) account.images.push({ imageId: `ami-${String(i).padStart(3, '0')}`, name: `image-${i}`, public: i % 50 === 0 });
    server.refuseEvaluations(3);
    const result = await handle()(ruleEvent('ami-not-public', scheduledNotification()));
    expect(result.byCompliance).toEqual({ NON_COMPLIANT: 3, COMPLIANT: 147 });
    expect(server.callsOf('config', 'PutEvaluations').map((call) => (call.params['Evaluations'] as unknown[]).length)).toEqual([100, 3, 50]);
    expect(Object.keys(reported().byResource)).toHaveLength(150);
  });

  it('fails the invocation (Config retries it) when PutEvaluations refuses the same evaluations twice', async () => {
    server.account(MemberAccountId).images.push({ imageId: 'ami-1', name: 'one', public: false });
    server.refuseEvaluations(1);
    const handler = handlerFor(AmiNotPublicRule);
    // Refuse the retry too: arm again as soon as the first call is recorded.
    const push = server.putEvaluations.push.bind(server.putEvaluations);
    server.putEvaluations.push = (...items) => {
      server.refuseEvaluations(1);
      return push(...items);
    };
    try {
      await expect(handler(ruleEvent('ami-not-public', scheduledNotification()))).rejects.toThrow('PutEvaluations refused 1 evaluations, e.g. AWS::EC2::Image ami-1');
    } finally {
      server.putEvaluations.push = push;
    }
  });

  it('a member account without the evaluator role fails with AccessDenied from STS', async () => {
    const event = ruleEvent('ami-not-public', scheduledNotification(), { accountId: '210987654321' });
    await expect(handle()(event)).rejects.toThrow(/not authorized to perform: sts:AssumeRole/);
  });

  it('a malformed event is refused before any AWS call', async () => {
    await expect(handle()({ ...ruleEvent('ami-not-public', scheduledNotification()), configRuleArn: 'not-an-arn' })).rejects.toThrow(/config-rule ARN/);
    expect(server.calls).toEqual([]);
  });
});
