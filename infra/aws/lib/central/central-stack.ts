import { resolve } from 'node:path';
import { CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { ConsumerBackends } from '../consumer/consumer-backends.ts';
import { EcsConsumer } from '../consumer/ecs-consumer.ts';
import { LambdaConsumer } from '../consumer/lambda-consumer.ts';
import type { DeploymentSettings } from '../settings/deployment-settings.ts';
import type { Deployment } from '../settings/load-deployment.ts';
import { RepoRoot } from '../settings/load-deployment.ts';
import { ComplianceStream } from './compliance-stream.ts';
import { EventArchive } from './event-archive.ts';
import { PipelineAlarms } from './pipeline-alarms.ts';

export interface CentralStackProps extends StackProps {
  readonly deployment: Deployment;
  /** Where the Lambda bundles are (default: settings.lambda.bundleDir under the repository root). */
  readonly lambdaBundleDir?: string;
}

/** The security/audit account: org-only bus -> Kinesis (KMS) -> driftwatch (ECS or Lambda), Firehose -> S3 archive, alarms. */
export class CentralStack extends Stack {
  readonly compliance: ComplianceStream;
  readonly archive: EventArchive;
  readonly backends: ConsumerBackends;
  readonly consumer: EcsConsumer | LambdaConsumer;
  readonly alarms: PipelineAlarms;
  readonly settings: DeploymentSettings;

  /**
   * Named zones instead of CDK's lookup of the account's zones: synth needs no credentials (also under the CDK CLI)
   * and the template never holds placeholder zones. An existing VPC brings its own.
   */
  override get availabilityZones(): string[] {
    if (this.settings.vpc) return [...this.settings.vpc.availabilityZones];
    return [`${this.settings.centralRegion}a`, `${this.settings.centralRegion}b`];
  }

  constructor(scope: Construct, id: string, props: CentralStackProps) {
    super(scope, id, props);
    const { settings } = props.deployment;
    this.settings = settings;

    const key = new kms.Key(this, 'Key', {
      alias: 'alias/driftwatch',
      description: 'driftwatch: compliance stream, dead-letter queues, archive, alarms, secrets',
      enableKeyRotation: true,
    });
    this.compliance = new ComplianceStream(this, 'Compliance', { settings, key });
    this.archive = new EventArchive(this, 'Archive', { settings, stream: this.compliance.stream, key });
    this.backends = new ConsumerBackends(this, 'Backends', { settings, key });

    const consumerMetrics: { id: string; metric: cloudwatch.IMetric; threshold: number; below?: boolean; description: string }[] = [];
    const deadLetterQueues = [this.compliance.deadLetterQueue];
    if (settings.runtime === 'ecs') {
      const ecsConsumer = new EcsConsumer(this, 'Consumer', { settings, stream: this.compliance.stream, backends: this.backends, dockerContext: RepoRoot });
      this.consumer = ecsConsumer;
      consumerMetrics.push({
        id: 'ConsumerRunningTasks',
        metric: new cloudwatch.Metric({ ...ecsConsumer.runningTasksMetricName(), statistic: 'Minimum', period: Duration.minutes(1) }),
        threshold: settings.ecs.desiredCount,
        below: true,
        description: 'Fewer driftwatch tasks run than desired: workers crash or fail their /healthz check (database unreachable).',
      });
    } else {
      const lambdaConsumer = new LambdaConsumer(this, 'Consumer', {
        settings,
        stream: this.compliance.stream,
        backends: this.backends,
        key,
        bundleDir: props.lambdaBundleDir ?? resolve(RepoRoot, settings.lambda.bundleDir),
      });
      this.consumer = lambdaConsumer;
      deadLetterQueues.push(lambdaConsumer.failureQueue);
      consumerMetrics.push(
        {
          id: 'ConsumerErrors',
          metric: lambdaConsumer.streamHandler.metricErrors({ statistic: 'Sum', period: Duration.minutes(5) }),
          threshold: 0,
          description: 'The stream handler fails whole batches (Postgres or OpenSearch unreachable?); the shard retries and waits.',
        },
        {
          id: 'ConsumerIteratorAge',
          metric: new cloudwatch.Metric({ namespace: 'AWS/Lambda', metricName: 'IteratorAge', dimensionsMap: { FunctionName: lambdaConsumer.streamHandler.functionName }, statistic: 'Maximum', period: Duration.minutes(1) }),
          threshold: 5 * 60 * 1000,
          description: 'The stream handler is more than 5 minutes behind the stream.',
        },
        {
          id: 'OutboxErrors',
          metric: lambdaConsumer.outboxHandler.metricErrors({ statistic: 'Sum', period: Duration.minutes(5) }),
          threshold: 0,
          description: 'The Slack outbox drain fails: notifications wait in the outbox.',
        },
      );
    }

    this.alarms = new PipelineAlarms(this, 'Alarms', {
      key,
      email: settings.alarmEmail,
      stream: this.compliance.stream,
      rule: this.compliance.rule,
      deadLetterQueues,
      deliveryStream: this.archive.deliveryStream,
      archiveBufferSeconds: settings.archive.bufferingSeconds,
      consumerMetrics,
    });

    new CfnOutput(this, 'EventBusArn', { value: this.compliance.bus.eventBusArn, description: 'Target of the member forwarding rules' });
    new CfnOutput(this, 'StreamName', { value: this.compliance.stream.streamName });
    new CfnOutput(this, 'ArchiveBucket', { value: this.archive.bucket.bucketName });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarms.topic.topicArn });
  }
}
