import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { DeploymentSettings } from '../settings/deployment-settings.ts';

/** The event pattern of AWS Config's compliance changes, shared by the central rule and the member forwarding rule. */
export const ComplianceChangePattern: events.EventPattern = {
  source: ['aws.config'],
  detailType: ['Config Rules Compliance Change'],
};

/** Kinesis orders per partition key: one resource's results stay in order across rules and accounts. */
export const PartitionKeyPath = '$.detail.resourceId';

export interface ComplianceStreamProps {
  readonly settings: DeploymentSettings;
  readonly key: kms.IKey;
}

/** The central bus (organization-only), its rule and the KMS-encrypted Kinesis stream driftwatch consumes. */
export class ComplianceStream extends Construct {
  readonly bus: events.EventBus;
  readonly rule: events.Rule;
  readonly stream: kinesis.Stream;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: ComplianceStreamProps) {
    super(scope, id);
    const { settings, key } = props;

    this.bus = new events.EventBus(this, 'Bus', { eventBusName: 'driftwatch-compliance' });
    // Only principals of the organization may put events: the member accounts' forwarding rules.
    this.bus.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'OrganizationMembersPutEvents',
        principals: [new iam.AnyPrincipal()],
        actions: ['events:PutEvents'],
        resources: [this.bus.eventBusArn],
        conditions: { StringEquals: { 'aws:PrincipalOrgID': settings.organizationId } },
      }),
    );

    const provisioned = settings.stream.mode === 'provisioned';
    this.stream = new kinesis.Stream(this, 'Stream', {
      streamName: 'driftwatch-compliance',
      streamMode: provisioned ? kinesis.StreamMode.PROVISIONED : kinesis.StreamMode.ON_DEMAND,
      ...(provisioned ? { shardCount: settings.stream.shardCount } : {}),
      retentionPeriod: Duration.hours(settings.stream.retentionHours),
      encryption: kinesis.StreamEncryption.KMS,
      encryptionKey: key,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // Events EventBridge could not put into the stream after its retries land here instead of being dropped.
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      queueName: 'driftwatch-compliance-dlq',
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    // EventBridge writes its dead letters to the encrypted queue with this key, for this account's rules only.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );

    this.rule = new events.Rule(this, 'ComplianceChangeRule', {
      ruleName: 'driftwatch-compliance-to-kinesis',
      eventBus: this.bus,
      eventPattern: ComplianceChangePattern,
      targets: [
        new targets.KinesisStream(this.stream, {
          partitionKeyPath: PartitionKeyPath,
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 185,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });
  }
}
