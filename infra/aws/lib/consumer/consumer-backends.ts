import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as opensearch from 'aws-cdk-lib/aws-opensearchservice';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { DeploymentSettings } from '../settings/deployment-settings.ts';

/** A secret value handed to the consumer as an environment variable at start (ECS secrets), never in the template. */
export interface SecretVariable {
  readonly secret: secretsmanager.ISecret;
  /** A key of a JSON secret; unset = the whole value. */
  readonly jsonKey?: string;
}

/** Port of driftwatch's /metrics and /healthz inside the task. */
export const MetricsPort = 9464;

export interface ConsumerBackendsProps {
  readonly settings: DeploymentSettings;
  readonly key: kms.IKey;
}

/**
 * What the consumer talks to besides the stream: the VPC, the Postgres state store, the search endpoint and Slack,
 * existing ones (inputs) or new ones (Aurora Serverless v2, an OpenSearch Service domain), as the consumer's settings.
 */
export class ConsumerBackends extends Construct {
  readonly vpc: ec2.IVpc;
  readonly securityGroup: ec2.SecurityGroup;
  readonly environment: Record<string, string> = {};
  readonly secrets: Record<string, SecretVariable> = {};
  /** The consumer's task/function role gets these (OpenSearch HTTP calls). */
  readonly policyStatements: iam.PolicyStatement[] = [];
  readonly database: rds.DatabaseCluster | undefined;
  readonly domain: opensearch.Domain | undefined;

  constructor(scope: Construct, id: string, props: ConsumerBackendsProps) {
    super(scope, id);
    const { settings } = props;

    this.vpc = settings.vpc
      ? ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
          vpcId: settings.vpc.vpcId,
          availabilityZones: settings.vpc.availabilityZones,
          privateSubnetIds: settings.vpc.privateSubnetIds,
        })
      : new ec2.Vpc(this, 'Vpc', {
          // The stack names its zones (CentralStack.availabilityZones): no lookup, no credentials at synth.
          maxAzs: 2,
          natGateways: 1,
          subnetConfiguration: [
            { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
            { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
          ],
          flowLogs: { all: { trafficType: ec2.FlowLogTrafficType.ALL } },
        });
    this.securityGroup = new ec2.SecurityGroup(this, 'ConsumerSecurityGroup', {
      vpc: this.vpc,
      description: 'driftwatch consumer: outbound to Kinesis, Postgres, OpenSearch, Slack',
      allowAllOutbound: true,
    });

    const db = settings.database;
    if (db.mode === 'existing') {
      const secret = secretsmanager.Secret.fromSecretCompleteArn(this, 'DatabaseSecret', db.secretArn);
      this.environment['DATABASE_URL'] = `postgres://${db.host}:${db.port}/${db.database}?sslmode=${db.sslMode}`;
      this.secrets['PGUSER'] = { secret, jsonKey: 'username' };
      this.secrets['PGPASSWORD'] = { secret, jsonKey: 'password' };
      if (db.securityGroupId) {
        const dbGroup = ec2.SecurityGroup.fromSecurityGroupId(this, 'DatabaseSecurityGroup', db.securityGroupId, { mutable: true });
        dbGroup.addIngressRule(this.securityGroup, ec2.Port.tcp(db.port), 'driftwatch consumer');
      }
    } else {
      this.database = new rds.DatabaseCluster(this, 'StateStore', {
        engine: rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_17_7 }),
        writer: rds.ClusterInstance.serverlessV2('writer'),
        readers: [rds.ClusterInstance.serverlessV2('reader', { scaleWithWriter: true })],
        serverlessV2MinCapacity: db.minCapacityAcu,
        serverlessV2MaxCapacity: db.maxCapacityAcu,
        vpc: this.vpc,
        vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
        credentials: rds.Credentials.fromGeneratedSecret('driftwatch', { encryptionKey: props.key }),
        defaultDatabaseName: db.database,
        storageEncrypted: true,
        storageEncryptionKey: props.key,
        deletionProtection: true,
        backup: { retention: Duration.days(14) },
        cloudwatchLogsExports: ['postgresql'],
        cloudwatchLogsRetention: logs.RetentionDays.THREE_MONTHS,
        iamAuthentication: false,
        removalPolicy: RemovalPolicy.SNAPSHOT,
      });
      this.database.connections.allowDefaultPortFrom(this.securityGroup, 'driftwatch consumer');
      const endpoint = this.database.clusterEndpoint;
      this.environment['DATABASE_URL'] = `postgres://${endpoint.hostname}:${endpoint.port}/${db.database}?sslmode=verify-full`;
      this.secrets['PGUSER'] = { secret: this.database.secret!, jsonKey: 'username' };
      this.secrets['PGPASSWORD'] = { secret: this.database.secret!, jsonKey: 'password' };
    }

    const search = settings.search;
    if (search.mode === 'existing') {
      this.environment['OPENSEARCH_URL'] = search.url;
      this.environment['OPENSEARCH_AUTH'] = search.auth;
      if (search.auth === 'sigv4') {
        this.environment['OPENSEARCH_SIGV4_SERVICE'] = search.service;
        if (search.domainArn) this.policyStatements.push(openSearchHttp(search.service, search.domainArn));
      } else if (search.secretArn) {
        const secret = secretsmanager.Secret.fromSecretCompleteArn(this, 'SearchSecret', search.secretArn);
        this.secrets['OPENSEARCH_USERNAME'] = { secret, jsonKey: 'username' };
        this.secrets['OPENSEARCH_PASSWORD'] = { secret, jsonKey: 'password' };
      }
    } else if (search.mode === 'domain') {
      const subnets = this.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }).subnets.slice(0, 2);
      const domainGroup = new ec2.SecurityGroup(this, 'SearchSecurityGroup', { vpc: this.vpc, description: 'driftwatch OpenSearch domain', allowAllOutbound: false });
      domainGroup.addIngressRule(this.securityGroup, ec2.Port.tcp(443), 'driftwatch consumer');
      const logGroup = (name: string) => new logs.LogGroup(this, name, { retention: logs.RetentionDays.THREE_MONTHS, removalPolicy: RemovalPolicy.DESTROY });
      this.domain = new opensearch.Domain(this, 'Search', {
        version: opensearch.EngineVersion.OPENSEARCH_2_19,
        vpc: this.vpc,
        vpcSubnets: [{ subnets }],
        securityGroups: [domainGroup],
        zoneAwareness: { enabled: true, availabilityZoneCount: 2 },
        capacity: { dataNodes: search.instanceCount, dataNodeInstanceType: search.instanceType, multiAzWithStandbyEnabled: false },
        ebs: { volumeSize: search.volumeGiB, volumeType: ec2.EbsDeviceVolumeType.GP3 },
        encryptionAtRest: { enabled: true, kmsKey: props.key },
        nodeToNodeEncryption: true,
        enforceHttps: true,
        tlsSecurityPolicy: opensearch.TLSSecurityPolicy.TLS_1_2,
        logging: {
          slowSearchLogEnabled: true,
          slowSearchLogGroup: logGroup('SearchSlowSearchLogs'),
          slowIndexLogEnabled: true,
          slowIndexLogGroup: logGroup('SearchSlowIndexLogs'),
          appLogEnabled: true,
          appLogGroup: logGroup('SearchAppLogs'),
        },
        removalPolicy: RemovalPolicy.RETAIN,
      });
      this.environment['OPENSEARCH_URL'] = `https://${this.domain.domainEndpoint}`;
      this.environment['OPENSEARCH_AUTH'] = 'sigv4';
      this.environment['OPENSEARCH_SIGV4_SERVICE'] = 'es';
      this.policyStatements.push(openSearchHttp('es', this.domain.domainArn));
    }

    if (settings.slackTokenSecretArn) {
      this.secrets['SLACK_TOKEN'] = { secret: secretsmanager.Secret.fromSecretCompleteArn(this, 'SlackToken', settings.slackTokenSecretArn) };
    }
    Object.assign(this.environment, settings.consumerEnvironment);
    this.environment['LOG_LEVEL'] ??= 'info';
  }
}

/** HTTP methods driftwatch uses on the domain's indices (bulk, search, templates, ISM), nothing administrative. */
function openSearchHttp(service: 'es' | 'aoss', arn: string): iam.PolicyStatement {
  return service === 'es'
    ? new iam.PolicyStatement({
        actions: ['es:ESHttpGet', 'es:ESHttpHead', 'es:ESHttpPost', 'es:ESHttpPut', 'es:ESHttpDelete'],
        resources: [arn, `${arn}/*`],
      })
    : new iam.PolicyStatement({ actions: ['aoss:APIAccessAll'], resources: [arn] });
}
