import type { Account, Environment } from '../../schemas/account-registry.ts';
import type { ComplianceChangeEvent, ComplianceType } from '../../schemas/compliance-change-event.ts';
import { BuiltInRules } from '../../stages/enrich/built-in-rules.ts';

/** The 16 regions of the origin case. */
export const Regions: readonly string[] = [
  'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'ca-central-1', 'eu-west-1', 'eu-west-2', 'eu-west-3',
  'eu-central-1', 'eu-north-1', 'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-southeast-1', 'ap-southeast-2', 'ap-south-1',
];

const Teams = ['payments', 'identity', 'search', 'ads', 'data-platform', 'mobile', 'web', 'ml', 'infra', 'security',
  'billing', 'catalog', 'checkout', 'logistics', 'support', 'analytics', 'messaging', 'media', 'growth', 'core-api'];

export const ResourceTypeByRule: Readonly<Record<string, string>> = {
  'rds-snapshots-public-prohibited': 'AWS::RDS::DBSnapshot', 'ebs-snapshot-public-restorable-check': 'AWS::::Account',
  's3-bucket-public-write-prohibited': 'AWS::S3::Bucket', 's3-bucket-public-read-prohibited': 'AWS::S3::Bucket',
  'lambda-function-public-access-prohibited': 'AWS::Lambda::Function', 'rds-instance-public-access-check': 'AWS::RDS::DBInstance',
  'dms-replication-not-public': 'AWS::DMS::ReplicationInstance', 'redshift-cluster-public-access-check': 'AWS::Redshift::Cluster',
  'vpc-sg-open-only-to-authorized-ports': 'AWS::EC2::SecurityGroup', 'restricted-ssh': 'AWS::EC2::SecurityGroup', 'ami-not-public': 'AWS::EC2::Image',
  'iam-root-access-key-check': 'AWS::::Account', 'root-account-mfa-enabled': 'AWS::::Account', 'guardduty-enabled-centralized': 'AWS::::Account',
  'securityhub-enabled': 'AWS::::Account', 'cloudtrail-enabled': 'AWS::::Account', 'multi-region-cloudtrail-enabled': 'AWS::::Account',
  'cloud-trail-log-file-validation-enabled': 'AWS::CloudTrail::Trail', 'vpc-flow-logs-enabled-with-eni': 'AWS::EC2::VPC',
  'iam-user-no-console-login': 'AWS::IAM::User', 'iam-user-mfa-enabled': 'AWS::IAM::User', 'elb-logging-enabled': 'AWS::ElasticLoadBalancingV2::LoadBalancer',
  'api-gw-execution-logging-enabled': 'AWS::ApiGateway::Stage', 's3-bucket-logging-enabled': 'AWS::S3::Bucket', 'iam-password-policy': 'AWS::::Account',
  'access-keys-rotated': 'AWS::IAM::User', 'encrypted-volumes': 'AWS::EC2::Volume', 'rds-storage-encrypted': 'AWS::RDS::DBInstance',
  's3-bucket-server-side-encryption-enabled': 'AWS::S3::Bucket', 'db-instance-backup-enabled': 'AWS::RDS::DBInstance',
  'rds-multi-az-support': 'AWS::RDS::DBInstance', 'cloudwatch-alarm-action-check': 'AWS::CloudWatch::Alarm',
};

/** A small deterministic PRNG (mulberry32): the same seed gives the same organisation and traffic. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface SyntheticOrg {
  readonly accounts: readonly Account[];
  readonly regions: readonly string[];
  readonly rules: readonly string[];
}

/** An organisation shaped like the origin case: 100+ accounts of ~20 teams, production and not, 16 regions, ~30 rules. */
export function createSyntheticOrg(options: { accounts?: number; seed?: number } = {}): SyntheticOrg {
  const random = seededRandom(options.seed ?? 7);
  const count = options.accounts ?? 120;
  const environments: Environment[] = ['production', 'production', 'staging', 'development', 'sandbox'];
  const accounts: Account[] = [];
  for (let i = 0; i < count; i++) {
    const team = Teams[i % Teams.length]!;
    const environment = environments[Math.floor(random() * environments.length)]!;
    accounts.push({
      id: String(100_000_000_000 + i * 7_919),
      name: `${team}-${environment.slice(0, 4)}-${Math.floor(i / Teams.length) + 1}`,
      environment,
      owner: team,
      // `#team-<name>`: never confused with the security channel (#security-compliance), even for the security team.
      slackChannel: `#team-${team}`,
    });
  }
  return { accounts, regions: Regions, rules: BuiltInRules.map((rule) => rule.name) };
}

export interface TrafficOptions {
  readonly deliveries: number;
  readonly seed?: number;
  /** Share of deliveries that repeat an earlier event (same id), as EventBridge and re-reads do. */
  readonly duplicateRate?: number;
  /** Share of changes delivered after the next change of the same resource. */
  readonly outOfOrderRate?: number;
  readonly malformedRate?: number;
  /** Distinct resources evaluated; fewer means more flips per resource. */
  readonly resources?: number;
  readonly startTime?: number;
}

export type DeliveryKind = 'event' | 'duplicate' | 'malformed';

export interface Delivery {
  readonly kind: DeliveryKind;
  readonly data: Buffer;
  readonly partitionKey: string;
  readonly event?: ComplianceChangeEvent;
}

interface Resource {
  readonly account: Account;
  readonly region: string;
  readonly rule: string;
  readonly configRuleName: string;
  readonly resourceType: string;
  readonly resourceId: string;
  compliance: ComplianceType | null;
  lastOrdering: number;
}

const MalformedKinds = ['not-json', 'wrong-source', 'missing-field', 'bad-compliance', 'binary', 'wrong-detail-type'] as const;

/**
 * Realistic traffic: resources drift to NON_COMPLIANT and get fixed, with duplicate deliveries, out-of-order pairs
 * and a few malformed records. Partition key = resourceId, as the EventBridge -> Kinesis rule sets it.
 */
export function* generateTraffic(org: SyntheticOrg, options: TrafficOptions): Generator<Delivery> {
  const random = seededRandom(options.seed ?? 42);
  const duplicateRate = options.duplicateRate ?? 0.03;
  const outOfOrderRate = options.outOfOrderRate ?? 0.02;
  const malformedRate = options.malformedRate ?? 0.002;
  const resourceCount = options.resources ?? Math.max(50, Math.floor(options.deliveries / 4));
  let clock = options.startTime ?? Date.parse('2026-03-02T09:00:00Z');
  let counter = 0;
  const resources: Resource[] = [];
  const recent: Delivery[] = [];
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

  const newResource = (): Resource => {
    const account = pick(org.accounts);
    const rule = pick(org.rules);
    const resourceType = ResourceTypeByRule[rule] ?? 'AWS::::Account';
    const suffix = account.id.slice(-4) + 'x9';
    const style = random();
    const configRuleName = style < 0.7 ? `OrgConfigRule-${rule}-${suffix}` : style < 0.9 ? `${rule}-conformance-pack-${suffix}` : rule;
    const resourceId = resourceType === 'AWS::::Account' ? account.id : `${resourceType.split('::')[2]!.toLowerCase()}-${(resources.length + 1).toString(16).padStart(8, '0')}`;
    return { account, region: pick(org.regions), rule, configRuleName, resourceType, resourceId, compliance: null, lastOrdering: 0 };
  };

  const change = (resource: Resource): ComplianceChangeEvent => {
    clock += 1 + Math.floor(random() * 2_000);
    const previous = resource.compliance;
    const next: ComplianceType =
      previous === 'NON_COMPLIANT' ? (random() < 0.9 ? 'COMPLIANT' : 'NOT_APPLICABLE') : random() < 0.75 ? 'NON_COMPLIANT' : 'COMPLIANT';
    resource.compliance = next;
    resource.lastOrdering = clock;
    counter++;
    return eventOf(resource, next, previous, clock, idOf(counter, options.seed ?? 42));
  };

  let produced = 0;
  const emit = (delivery: Delivery): Delivery => {
    produced++;
    recent.push(delivery);
    if (recent.length > 500) recent.shift();
    return delivery;
  };

  while (produced < options.deliveries) {
    const roll = random();
    if (roll < malformedRate) {
      produced++;
      yield malformed(pick(MalformedKinds), counter, random);
      continue;
    }
    if (roll < malformedRate + duplicateRate && recent.length > 0) {
      const original = pick(recent);
      produced++;
      yield { kind: 'duplicate', data: original.data, partitionKey: original.partitionKey, ...(original.event ? { event: original.event } : {}) };
      continue;
    }
    const resource = resources.length < resourceCount && (resources.length === 0 || random() < 0.5) ? newResource() : pick(resources);
    if (!resources.includes(resource)) resources.push(resource);
    const first = change(resource);
    if (random() < outOfOrderRate && produced + 2 <= options.deliveries) {
      const second = change(resource);
      yield emit(toDelivery(second));
      yield emit(toDelivery(first));
    } else {
      yield emit(toDelivery(first));
    }
  }
}

function toDelivery(event: ComplianceChangeEvent): Delivery {
  return { kind: 'event', data: Buffer.from(JSON.stringify(event)), partitionKey: event.detail.resourceId, event };
}

function idOf(counter: number, seed: number): string {
  const hex = (counter * 2_654_435_761 + seed).toString(16).padStart(12, '0').slice(-12);
  return `${seed.toString(16).padStart(8, '0').slice(-8)}-${(counter >>> 16).toString(16).padStart(4, '0').slice(-4)}-4${(counter & 0xfff).toString(16).padStart(3, '0')}-8000-${hex}`;
}

function eventOf(resource: Resource, compliance: ComplianceType, previous: ComplianceType | null, ordering: number, id: string): ComplianceChangeEvent {
  const qualifier = { configRuleName: resource.configRuleName, resourceType: resource.resourceType, resourceId: resource.resourceId, evaluationMode: 'DETECTIVE' };
  const at = (offset: number) => new Date(ordering + offset).toISOString();
  return {
    version: '0',
    id,
    'detail-type': 'Config Rules Compliance Change',
    source: 'aws.config',
    account: resource.account.id,
    time: at(30_000).replace(/\.\d{3}Z$/, 'Z'),
    region: resource.region,
    resources: [],
    detail: {
      resourceId: resource.resourceId,
      awsRegion: resource.region,
      awsAccountId: resource.account.id,
      configRuleName: resource.configRuleName,
      recordVersion: '1.0',
      configRuleARN: `arn:aws:config:${resource.region}:${resource.account.id}:config-rule/aws-service-rule/config-multiaccountsetup.amazonaws.com/config-rule-${resource.rule.length.toString(16)}ab12`,
      messageType: 'ComplianceChangeNotification',
      newEvaluationResult: {
        evaluationResultIdentifier: { evaluationResultQualifier: qualifier, orderingTimestamp: at(0) },
        complianceType: compliance,
        resultRecordedTime: at(29_000),
        configRuleInvokedTime: at(28_500),
        ...(compliance === 'NON_COMPLIANT' ? { annotation: `${resource.rule} is not satisfied by ${resource.resourceId}` } : {}),
      },
      ...(previous
        ? {
            oldEvaluationResult: {
              evaluationResultIdentifier: { evaluationResultQualifier: qualifier, orderingTimestamp: at(-86_400_000) },
              complianceType: previous,
              resultRecordedTime: at(-86_370_000),
              configRuleInvokedTime: at(-86_371_000),
            },
          }
        : {}),
      notificationCreationTime: at(30_100),
      resourceType: resource.resourceType,
    },
  };
}

function malformed(kind: (typeof MalformedKinds)[number], counter: number, random: () => number): Delivery {
  const partitionKey = `malformed-${counter}`;
  const base = { version: '0', id: `bad-${counter}-${Math.floor(random() * 1e9)}`, 'detail-type': 'Config Rules Compliance Change', source: 'aws.config',
    account: '111122223333', time: '2026-03-04T10:15:22Z', region: 'us-east-1', resources: [] };
  const json = (value: unknown) => Buffer.from(JSON.stringify(value));
  switch (kind) {
    case 'not-json':
      return { kind: 'malformed', data: Buffer.from('{"version":"0","id": truncated'), partitionKey };
    case 'wrong-source':
      return { kind: 'malformed', data: json({ ...base, source: 'aws.ec2', detail: {} }), partitionKey };
    case 'wrong-detail-type':
      return { kind: 'malformed', data: json({ ...base, 'detail-type': 'EC2 Instance State-change Notification', detail: {} }), partitionKey };
    case 'missing-field':
      return { kind: 'malformed', data: json({ ...base, detail: { awsRegion: 'us-east-1', messageType: 'ComplianceChangeNotification' } }), partitionKey };
    case 'bad-compliance':
      return { kind: 'malformed', data: json({ ...base, detail: { resourceId: 'r', awsRegion: 'us-east-1', awsAccountId: '111122223333', configRuleName: 'x',
        messageType: 'ComplianceChangeNotification', notificationCreationTime: '2026-03-04T10:15:22Z', resourceType: 'AWS::S3::Bucket',
        newEvaluationResult: { evaluationResultIdentifier: { evaluationResultQualifier: { configRuleName: 'x', resourceType: 'AWS::S3::Bucket', resourceId: 'r' },
          orderingTimestamp: '2026-03-04T10:15:22Z' }, complianceType: 'MOSTLY_COMPLIANT' } } }), partitionKey };
    case 'binary':
      return { kind: 'malformed', data: Buffer.from([0xff, 0xfe, 0x00, 0x9c, 0x80, 0x81]), partitionKey };
  }
}
