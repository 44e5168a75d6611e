import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface PipelineAlarmsProps {
  readonly key: kms.IKey;
  readonly email: string | undefined;
  readonly stream: kinesis.IStream;
  readonly rule: events.IRule;
  readonly deadLetterQueues: readonly sqs.IQueue[];
  readonly deliveryStream: firehose.IDeliveryStream;
  readonly archiveBufferSeconds: number;
  /** Alarms on the consumer's own health (ECS running tasks, Lambda errors and iterator age). */
  readonly consumerMetrics: readonly { readonly id: string; readonly metric: cloudwatch.IMetric; readonly threshold: number; readonly below?: boolean; readonly description: string }[];
}

/** The alarms an operator needs: the stream falling behind, events parked in a DLQ, the archive failing, the consumer down. */
export class PipelineAlarms extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: PipelineAlarmsProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Topic', { displayName: 'driftwatch pipeline alarms', masterKey: props.key, enforceSSL: true });
    // CloudWatch publishes alarm notifications to the encrypted topic: without this it fails silently.
    props.key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    if (props.email) this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
    const action = new actions.SnsAction(this.topic);
    const add = (alarmId: string, alarm: Omit<cloudwatch.AlarmProps, 'evaluationPeriods'> & { evaluationPeriods?: number }) => {
      const created = new cloudwatch.Alarm(this, alarmId, { evaluationPeriods: 1, treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING, ...alarm });
      created.addAlarmAction(action);
      created.addOkAction(action);
      this.alarms.push(created);
    };

    add('StreamIteratorAge', {
      alarmDescription: 'Records wait in the Kinesis stream for more than 5 minutes: a consumer (driftwatch or the archive) is behind or stopped.',
      metric: props.stream.metricGetRecordsIteratorAgeMilliseconds({ statistic: 'Maximum', period: Duration.minutes(1) }),
      threshold: 5 * 60 * 1000,
      evaluationPeriods: 5,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    props.deadLetterQueues.forEach((queue, index) =>
      add(`DeadLetterDepth${index}`, {
        alarmDescription: 'Messages wait in a dead-letter queue: events (or failed batches) were not delivered; inspect and redrive.',
        metric: queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(5) }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      }),
    );
    add('RuleFailedInvocations', {
      alarmDescription: 'EventBridge failed to put compliance events into the stream (they go to the DLQ after retries).',
      metric: new cloudwatch.Metric({ namespace: 'AWS/Events', metricName: 'FailedInvocations', dimensionsMap: { RuleName: props.rule.ruleName, EventBusName: 'driftwatch-compliance' }, statistic: 'Sum', period: Duration.minutes(5) }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    add('ArchiveDeliveryFailures', {
      alarmDescription: 'Firehose failed to deliver to the S3 archive (DeliveryToS3.Success below 1).',
      metric: props.deliveryStream.metric('DeliveryToS3.Success', { statistic: 'Minimum', period: Duration.minutes(5) }),
      threshold: 1,
      evaluationPeriods: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    });
    add('ArchiveFreshness', {
      alarmDescription: 'The oldest record not yet in the S3 archive is older than three buffer intervals.',
      metric: props.deliveryStream.metric('DeliveryToS3.DataFreshness', { statistic: 'Maximum', period: Duration.minutes(5) }),
      threshold: Math.max(900, props.archiveBufferSeconds * 3),
      evaluationPeriods: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    for (const consumer of props.consumerMetrics) {
      add(consumer.id, {
        alarmDescription: consumer.description,
        metric: consumer.metric,
        threshold: consumer.threshold,
        evaluationPeriods: 3,
        comparisonOperator: consumer.below ? cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD : cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: consumer.below ? cloudwatch.TreatMissingData.BREACHING : cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
  }
}
