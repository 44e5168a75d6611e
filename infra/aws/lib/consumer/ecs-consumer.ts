import { Duration, Stack } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { DeploymentSettings } from '../settings/deployment-settings.ts';
import { MetricsPort } from './consumer-backends.ts';
import type { ConsumerBackends } from './consumer-backends.ts';

export interface EcsConsumerProps {
  readonly settings: DeploymentSettings;
  readonly stream: kinesis.IStream;
  readonly backends: ConsumerBackends;
  /** Directory with the Dockerfile (the repository root) when no image URI is given. */
  readonly dockerContext: string;
}

/** `driftwatch run` workers on Fargate: shard leases in Postgres spread the stream's shards over the tasks. */
export class EcsConsumer extends Construct {
  readonly cluster: ecs.Cluster;
  readonly service: ecs.FargateService;
  readonly taskDefinition: ecs.FargateTaskDefinition;

  constructor(scope: Construct, id: string, props: EcsConsumerProps) {
    super(scope, id);
    const { settings, backends } = props;
    const { ecs: sizing } = settings;

    this.cluster = new ecs.Cluster(this, 'Cluster', { vpc: backends.vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu: sizing.cpu,
      memoryLimitMiB: sizing.memoryMiB,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    props.stream.grantRead(this.taskDefinition.taskRole);
    for (const statement of backends.policyStatements) this.taskDefinition.addToTaskRolePolicy(statement);

    const logGroup = new logs.LogGroup(this, 'Logs', { retention: sizing.logRetentionDays as logs.RetentionDays });
    const image = sizing.imageUri
      ? ecs.ContainerImage.fromRegistry(sizing.imageUri)
      : ecs.ContainerImage.fromAsset(props.dockerContext, { file: 'Dockerfile' });
    // The root filesystem is read-only; tsx keeps its compile cache in /tmp, a task-local scratch volume.
    this.taskDefinition.addVolume({ name: 'tmp' });
    const container = this.taskDefinition.addContainer('driftwatch', {
      image,
      command: ['run'],
      essential: true,
      readonlyRootFilesystem: true,
      // Live heap stays ~100-200 MB; a limit below the task's memory keeps V8 from growing garbage up to the kill.
      environment: {
        ...backends.environment,
        KINESIS_STREAM: props.stream.streamName,
        AWS_REGION: Stack.of(this).region,
        DRIFTWATCH_METRICS_PORT: String(MetricsPort),
        DRIFTWATCH_METRICS_HOST: '0.0.0.0',
        NODE_OPTIONS: `--max-old-space-size=${Math.floor(sizing.memoryMiB * 0.6)}`,
      },
      secrets: Object.fromEntries(
        Object.entries(backends.secrets).map(([name, value]) => [
          name,
          value.jsonKey ? ecs.Secret.fromSecretsManager(value.secret, value.jsonKey) : ecs.Secret.fromSecretsManager(value.secret),
        ]),
      ),
      portMappings: [{ containerPort: MetricsPort, name: 'metrics' }],
      healthCheck: {
        command: ['CMD', 'node', '-e', `fetch('http://127.0.0.1:${MetricsPort}/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`],
        interval: Duration.seconds(30),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(60),
      },
      // `run` stops cleanly on SIGTERM (leases released, batch committed); give it time before SIGKILL.
      stopTimeout: Duration.seconds(60),
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: 'driftwatch' }),
    });
    container.addMountPoints({ sourceVolume: 'tmp', containerPath: '/tmp', readOnly: false });
    // Secrets are read by the execution role when the task starts; the task role never sees them.
    for (const { secret } of Object.values(backends.secrets)) secret.grantRead(this.taskDefinition.obtainExecutionRole());

    this.service = new ecs.FargateService(this, 'Service', {
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      desiredCount: sizing.desiredCount,
      securityGroups: [backends.securityGroup],
      vpcSubnets: { subnets: backends.vpc.privateSubnets },
      assignPublicIp: false,
      circuitBreaker: { rollback: true },
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
    });
  }

  /** Tasks running, from Container Insights: below the desired count means workers crash or fail health checks. */
  runningTasksMetricName(): { namespace: string; metricName: string; dimensionsMap: Record<string, string> } {
    return {
      namespace: 'ECS/ContainerInsights',
      metricName: 'RunningTaskCount',
      dimensionsMap: { ClusterName: this.cluster.clusterName, ServiceName: this.service.serviceName },
    };
  }
}
