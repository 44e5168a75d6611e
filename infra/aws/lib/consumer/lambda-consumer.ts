import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DeploymentError } from '../settings/deployment-error.ts';
import type { DeploymentSettings } from '../settings/deployment-settings.ts';
import type { ConsumerBackends } from './consumer-backends.ts';

/** The bundles `npm run build:lambda` writes (infra/lambda/build-lambda-bundles.ts), one folder per handler. */
export const LambdaBundles = { kinesis: 'kinesis-handler', outbox: 'outbox-handler' } as const;

/**
 * Environment variable naming the secrets a handler resolves from Secrets Manager at cold start, as JSON
 * `{ "PGPASSWORD": { "secretArn": "...", "jsonKey": "password" }, "SLACK_TOKEN": { "secretArn": "..." } }`:
 * Lambda has no secret injection, and secret values never go into the template.
 */
export const SecretsVariable = 'DRIFTWATCH_SECRETS';

export interface LambdaConsumerProps {
  readonly settings: DeploymentSettings;
  readonly stream: kinesis.IStream;
  readonly backends: ConsumerBackends;
  readonly key: kms.IKey;
  /** Absolute directory of the bundles (settings.lambda.bundleDir resolved against the repository root). */
  readonly bundleDir: string;
}

/** The same stage chain as `run`, as Lambda handlers: one under a Kinesis event source mapping, one draining the outbox. */
export class LambdaConsumer extends Construct {
  readonly streamHandler: lambda.Function;
  readonly outboxHandler: lambda.Function;
  readonly eventSourceMapping: sources.KinesisEventSource;
  readonly failureQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: LambdaConsumerProps) {
    super(scope, id);
    const { settings, backends } = props;
    const sizing = settings.lambda;

    const environment: Record<string, string> = {
      ...backends.environment,
      KINESIS_STREAM: props.stream.streamName,
      // Node 20+ runtimes no longer trust the Amazon RDS CAs by default: sslmode=verify-full needs the runtime's bundle.
      NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
      // As the driftwatch launcher and the ECS task do: a heap limit below the function's memory (issue 18).
      NODE_OPTIONS: `--max-old-space-size=${Math.floor(sizing.memoryMiB * 0.6)}`,
      [SecretsVariable]: JSON.stringify(
        Object.fromEntries(Object.entries(backends.secrets).map(([name, value]) => [name, { secretArn: value.secret.secretArn, ...(value.jsonKey ? { jsonKey: value.jsonKey } : {}) }])),
      ),
    };
    const make = (name: string, bundle: string, timeout: Duration): lambda.Function => {
      const fn = new lambda.Function(this, name, {
        runtime: lambda.Runtime.NODEJS_24_X,
        architecture: lambda.Architecture.ARM_64,
        handler: 'index.handler',
        code: lambda.Code.fromAsset(bundlePath(props.bundleDir, bundle)),
        memorySize: sizing.memoryMiB,
        timeout,
        environment,
        vpc: backends.vpc,
        vpcSubnets: { subnets: backends.vpc.privateSubnets },
        securityGroups: [backends.securityGroup],
        logGroup: new logs.LogGroup(this, `${name}Logs`, { retention: sizing.logRetentionDays as logs.RetentionDays }),
        loggingFormat: lambda.LoggingFormat.JSON,
      });
      for (const statement of backends.policyStatements) fn.addToRolePolicy(statement);
      for (const { secret } of Object.values(backends.secrets)) secret.grantRead(fn);
      return fn;
    };

    this.streamHandler = make('StreamHandler', LambdaBundles.kinesis, Duration.seconds(sizing.timeoutSeconds));
    // Batches that still fail after every retry are described here (shard, sequence range) for a replay from the
    // archive; with the default (retry until the record expires) the shard waits instead, as `run` does.
    this.failureQueue = new sqs.Queue(this, 'FailureQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.eventSourceMapping = new sources.KinesisEventSource(props.stream, {
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: sizing.batchSize,
      maxBatchingWindow: Duration.seconds(sizing.maxBatchingWindowSeconds),
      parallelizationFactor: sizing.parallelizationFactor,
      bisectBatchOnError: true,
      reportBatchItemFailures: true,
      retryAttempts: sizing.retryAttempts,
      onFailure: new sources.SqsDlq(this.failureQueue),
    });
    this.streamHandler.addEventSource(this.eventSourceMapping);

    this.outboxHandler = make('OutboxHandler', LambdaBundles.outbox, Duration.seconds(55));
    new events.Rule(this, 'OutboxSchedule', {
      description: 'driftwatch: drain the Slack outbox every minute',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(this.outboxHandler, { retryAttempts: 0 })],
    });
  }
}

function bundlePath(bundleDir: string, bundle: string): string {
  const dir = resolve(join(bundleDir, bundle));
  if (!existsSync(join(dir, 'index.mjs'))) {
    throw new DeploymentError(`lambda bundle ${join(dir, 'index.mjs')} is missing: run npm run build:lambda first (or -c runtime=ecs)`);
  }
  return dir;
}
