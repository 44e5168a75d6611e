/**
 * Custom-rule events shaped as AWS Config sends them (AWS Config developer guide, "Example Events for AWS Config
 * Rules"): the Lambda event with `invokingEvent` as a JSON string, configuration items with the recorder's fields.
 */
export const MemberAccountId = '123456789012';
export const OwnAccountId = '999999999999';
export const Region = 'eu-west-1';
export const FunctionArn = `arn:aws:lambda:${Region}:${OwnAccountId}:function:driftwatch-org-rules-VpcFlowLogs-AbC123`;

export function ruleEvent(ruleName: string, invokingEvent: Record<string, unknown>, options: { accountId?: string; eventLeftScope?: boolean } = {}): Record<string, unknown> {
  const accountId = options.accountId ?? MemberAccountId;
  return {
    version: '1.0',
    invokingEvent: JSON.stringify(invokingEvent),
    ruleParameters: '{}',
    resultToken: `result-token-${ruleName}`,
    eventLeftScope: options.eventLeftScope ?? false,
    executionRoleArn: `arn:aws:iam::${accountId}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig`,
    configRuleArn: `arn:aws:config:${Region}:${accountId}:config-rule/aws-service-rule/config-multiaccountsetup.amazonaws.com/config-rule-k3n2q1`,
    configRuleName: `OrgConfigRule-${ruleName}-x7d9sk2a`,
    configRuleId: 'config-rule-k3n2q1',
    accountId,
    evaluationMode: 'DETECTIVE',
  };
}

export function changeNotification(configurationItem: Record<string, unknown>): Record<string, unknown> {
  return {
    configurationItemDiff: null,
    configurationItem,
    notificationCreationTime: '2026-11-30T10:15:03.120Z',
    messageType: 'ConfigurationItemChangeNotification',
    recordVersion: '1.3',
  };
}

export function oversizedNotification(resourceType: string, resourceId: string): Record<string, unknown> {
  return {
    configurationItemSummary: {
      changeType: 'UPDATE',
      configurationItemVersion: '1.3',
      configurationItemCaptureTime: '2026-11-30T10:14:58.000Z',
      configurationStateId: 1_764_497_698_000,
      awsAccountId: MemberAccountId,
      configurationItemStatus: 'OK',
      resourceType,
      resourceId,
      resourceName: null,
      ARN: `arn:aws:ec2:${Region}:${MemberAccountId}:vpc/${resourceId}`,
      awsRegion: Region,
      availabilityZone: 'Multiple Availability Zones',
      configurationStateMd5Hash: '',
      resourceCreationTime: null,
    },
    s3DeliverySummary: { s3BucketLocation: 'config-bucket/AWSLogs/123456789012/Config/eu-west-1/2026/11/30/OversizedChangeNotification/AWS::EC2::VPC/vpc.json.gz', errorCode: null, errorMessage: null },
    notificationCreationTime: '2026-11-30T10:15:03.120Z',
    messageType: 'OversizedConfigurationItemChangeNotification',
    recordVersion: '1.0',
  };
}

export function scheduledNotification(): Record<string, unknown> {
  return { awsAccountId: MemberAccountId, notificationCreationTime: '2026-11-30T00:00:12.421Z', messageType: 'ScheduledNotification', recordVersion: '1.0' };
}

type Status = 'OK' | 'ResourceDiscovered' | 'ResourceDeleted' | 'ResourceDeletedNotRecorded';

export function vpcItem(vpcId: string, status: Status = 'OK'): Record<string, unknown> {
  const deleted = status.startsWith('ResourceDeleted');
  return {
    relatedEvents: [],
    relationships: deleted ? [] : [{ resourceId: 'acl-0a1b2c3d', resourceName: null, resourceType: 'AWS::EC2::NetworkAcl', name: 'Contains NetworkAcl' }],
    configuration: deleted
      ? null
      : {
          cidrBlock: '10.20.0.0/16',
          dhcpOptionsId: 'dopt-0f1e2d3c',
          state: 'available',
          vpcId,
          ownerId: MemberAccountId,
          instanceTenancy: 'default',
          cidrBlockAssociationSet: [{ associationId: 'vpc-cidr-assoc-0aa1', cidrBlock: '10.20.0.0/16', cidrBlockState: { state: 'associated' } }],
          isDefault: false,
          tags: [{ key: 'Name', value: 'payments' }],
        },
    supplementaryConfiguration: {},
    tags: deleted ? {} : { Name: 'payments' },
    configurationItemVersion: '1.3',
    configurationItemCaptureTime: '2026-11-30T10:14:58.000Z',
    configurationStateId: 1_764_497_698_000,
    awsAccountId: MemberAccountId,
    configurationItemStatus: status,
    resourceType: 'AWS::EC2::VPC',
    resourceId: vpcId,
    resourceName: null,
    ARN: `arn:aws:ec2:${Region}:${MemberAccountId}:vpc/${vpcId}`,
    awsRegion: Region,
    availabilityZone: 'Multiple Availability Zones',
    configurationStateMd5Hash: '',
    resourceCreationTime: null,
  };
}

export function iamUserItem(userId: string, userName: string, status: Status = 'OK'): Record<string, unknown> {
  const deleted = status.startsWith('ResourceDeleted');
  return {
    relatedEvents: [],
    relationships: [],
    configuration: deleted
      ? null
      : {
          path: '/',
          userName,
          userId,
          arn: `arn:aws:iam::${MemberAccountId}:user/${userName}`,
          createDate: '2024-03-01T09:00:00.000Z',
          userPolicyList: [],
          groupList: ['developers'],
          attachedManagedPolicies: [{ policyName: 'ReadOnlyAccess', policyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' }],
          permissionsBoundary: null,
          tags: [],
        },
    supplementaryConfiguration: {},
    tags: {},
    configurationItemVersion: '1.3',
    configurationItemCaptureTime: '2026-11-30T10:14:58.000Z',
    configurationStateId: 1_764_497_698_001,
    awsAccountId: MemberAccountId,
    configurationItemStatus: status,
    resourceType: 'AWS::IAM::User',
    resourceId: userId,
    resourceName: userName,
    ARN: `arn:aws:iam::${MemberAccountId}:user/${userName}`,
    awsRegion: 'global',
    availabilityZone: 'Not Applicable',
    configurationStateMd5Hash: '',
    resourceCreationTime: '2024-03-01T09:00:00.000Z',
  };
}

/** The configuration item as GetResourceConfigHistory returns it (API field names; configuration as a string). */
export function historyItem(item: Record<string, unknown>): Record<string, unknown> {
  return {
    version: item['configurationItemVersion'],
    accountId: item['awsAccountId'],
    configurationItemCaptureTime: Date.parse(String(item['configurationItemCaptureTime'])) / 1000,
    configurationItemStatus: item['configurationItemStatus'],
    configurationStateId: String(item['configurationStateId']),
    arn: item['ARN'],
    resourceType: item['resourceType'],
    resourceId: item['resourceId'],
    resourceName: item['resourceName'],
    awsRegion: item['awsRegion'],
    availabilityZone: item['availabilityZone'],
    configuration: JSON.stringify(item['configuration']),
    supplementaryConfiguration: {},
    tags: {},
    relatedEvents: [],
    relationships: [],
  };
}
