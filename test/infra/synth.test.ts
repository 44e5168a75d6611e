import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { readNagReport } from '../../infra/aws/lib/nag/nag-report.ts';
import { RepoRoot } from '../../infra/aws/lib/settings/load-deployment.ts';
import { BuiltInRules } from '../../stages/enrich/built-in-rules.ts';
import { BaseSettings, ExpectedExcluded, lambdaBundles, synthApp } from './support/synth-fixtures.ts';

// The CDK app's templates, asserted with aws-cdk-lib/assertions. Synth runs cdk-nag (AwsSolutions) as a CDK
// validation plugin: an unacknowledged error would make these syntheses throw.

describe('ECS runtime, Aurora, two regions', () => {
  let synth: ReturnType<typeof synthApp>;
  let central: Template;
  let forwarding: Template;
  let rules: Template;

  beforeAll(() => {
    synth = synthApp({ ...BaseSettings, slackTokenSecretArn: 'arn:aws:secretsmanager:eu-west-1:666666666666:secret:driftwatch/slack-AbCdEf', alarmEmail: 'secops@example.com' });
    central = Template.fromStack(synth.stacks.central);
    forwarding = Template.fromStack(synth.stacks.forwarding);
    rules = Template.fromStack(synth.stacks.orgRules[0]!);
  });

  it('lets only the organization put events on the central bus', () => {
    central.hasResourceProperties('AWS::Events::EventBusPolicy', {
      Statement: { Effect: 'Allow', Action: 'events:PutEvents', Principal: { AWS: '*' }, Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' } } },
    });
    central.resourceCountIs('AWS::Events::EventBusPolicy', 1);
  });

  it('routes compliance changes to the stream, partitioned by resource id, with a DLQ and retries', () => {
    central.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.config'], 'detail-type': ['Config Rules Compliance Change'] },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('ComplianceStream'), 'Arn'] },
          KinesisParameters: { PartitionKeyPath: '$.detail.resourceId' },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('ComplianceDeadLetterQueue'), 'Arn'] } },
          RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 },
        }),
      ],
    });
    central.hasResourceProperties('AWS::SQS::Queue', { KmsMasterKeyId: Match.anyValue(), QueueName: 'driftwatch-compliance-dlq' });
  });

  it('encrypts the on-demand stream with the customer key', () => {
    central.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamEncryption: { EncryptionType: 'KMS', KeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] } },
      StreamModeDetails: { StreamMode: 'ON_DEMAND' },
      RetentionPeriodHours: 168,
    });
    central.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('archives the stream through Firehose to a locked-down S3 bucket as GZIP ndjson under a date prefix', () => {
    central.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      DeliveryStreamType: 'KinesisStreamAsSource',
      KinesisStreamSourceConfiguration: { KinesisStreamARN: { 'Fn::GetAtt': [Match.stringLikeRegexp('ComplianceStream'), 'Arn'] } },
      ExtendedS3DestinationConfiguration: Match.objectLike({
        BucketARN: { 'Fn::GetAtt': [Match.stringLikeRegexp('ArchiveBucket'), 'Arn'] },
        CompressionFormat: 'GZIP',
        Prefix: 'events/!{timestamp:yyyy/MM/dd}/',
        ErrorOutputPrefix: Match.stringLikeRegexp('^errors/'),
        ProcessingConfiguration: { Enabled: true, Processors: [{ Type: 'AppendDelimiterToRecord', Parameters: [] }] },
      }),
    });
    central.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: { ServerSideEncryptionConfiguration: [Match.objectLike({ ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: Match.anyValue() } })] },
      LifecycleConfiguration: {
        Rules: [Match.objectLike({ ExpirationInDays: 730, Transitions: [{ StorageClass: 'STANDARD_IA', TransitionInDays: 30 }, { StorageClass: 'GLACIER_IR', TransitionInDays: 90 }] })],
      },
    });
    central.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: Match.stringLikeRegexp('ArchiveBucket') },
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('alarms on iterator age, DLQ depth, Firehose delivery and the consumer', () => {
    const alarms = Object.values(central.findResources('AWS::CloudWatch::Alarm')).map((a) => a['Properties'] as { MetricName?: string; Namespace?: string });
    const metrics = alarms.map((a) => `${a.Namespace}/${a.MetricName}`);
    expect(metrics).toEqual(
      expect.arrayContaining(['AWS/Kinesis/GetRecords.IteratorAgeMilliseconds', 'AWS/SQS/ApproximateNumberOfMessagesVisible', 'AWS/Firehose/DeliveryToS3.Success', 'AWS/Firehose/DeliveryToS3.DataFreshness', 'ECS/ContainerInsights/RunningTaskCount', 'AWS/Events/FailedInvocations']),
    );
    central.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'secops@example.com' });
    // The topic and the DLQ are encrypted with the stack key: CloudWatch and EventBridge must be able to use it.
    central.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({ Principal: { Service: 'events.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Condition: { StringEquals: { 'aws:SourceAccount': '666666666666' } } }),
          Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'], Condition: { StringEquals: { 'aws:SourceAccount': '666666666666' } } }),
        ]),
      },
    });
  });

  it('runs `driftwatch run` on Fargate: health check on /healthz, secrets from Secrets Manager, least-privilege roles', () => {
    central.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [
        Match.objectLike({
          Command: ['run'],
          ReadonlyRootFilesystem: true,
          HealthCheck: Match.objectLike({ Command: ['CMD', 'node', '-e', Match.stringLikeRegexp('127\\.0\\.0\\.1:9464/healthz')] }),
          Environment: Match.arrayWith([{ Name: 'KINESIS_STREAM', Value: { Ref: Match.stringLikeRegexp('ComplianceStream') } }, { Name: 'DRIFTWATCH_METRICS_HOST', Value: '0.0.0.0' }]),
          Secrets: Match.arrayWith([
            { Name: 'PGPASSWORD', ValueFrom: { 'Fn::Join': ['', [{ Ref: Match.stringLikeRegexp('SecretAttachment') }, ':password::']] } },
            { Name: 'SLACK_TOKEN', ValueFrom: 'arn:aws:secretsmanager:eu-west-1:666666666666:secret:driftwatch/slack-AbCdEf' },
          ]),
          LogConfiguration: Match.objectLike({ LogDriver: 'awslogs' }),
        }),
      ],
    });
    const taskDefinition = Object.values(central.findResources('AWS::ECS::TaskDefinition'))[0]!;
    const environment = JSON.stringify((taskDefinition['Properties'] as { ContainerDefinitions: { Environment: unknown }[] }).ContainerDefinitions[0]!.Environment);
    expect(environment).not.toMatch(/SLACK_TOKEN|PGPASSWORD|xoxb/);
    central.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
    // Zones are named, not looked up: synth needs no credentials and never writes placeholder zones.
    const zones = Object.values(central.findResources('AWS::EC2::Subnet')).map((subnet) => (subnet['Properties'] as { AvailabilityZone: string }).AvailabilityZone);
    expect([...new Set(zones)].sort()).toEqual(['eu-west-1a', 'eu-west-1b']);

    const policies = Object.values(central.findResources('AWS::IAM::Policy')).map((p) => ({ roles: JSON.stringify((p['Properties'] as { Roles: unknown }).Roles), statements: JSON.stringify((p['Properties'] as { PolicyDocument: unknown }).PolicyDocument) }));
    const taskRole = policies.find((p) => /ConsumerTaskTaskRole/.test(p.roles))!;
    expect(taskRole.statements).toMatch(/kinesis:GetRecords/);
    expect(taskRole.statements).toMatch(/kinesis:GetShardIterator/);
    expect(taskRole.statements).not.toMatch(/kinesis:PutRecord|secretsmanager|"\*"/);
    const executionRole = policies.find((p) => /ConsumerTaskExecutionRole/.test(p.roles))!;
    expect(executionRole.statements).toMatch(/secretsmanager:GetSecretValue/);
    expect(executionRole.statements).toMatch(/driftwatch\/slack-AbCdEf/);
  });

  it('deploys the member template with a service-managed StackSet to the OUs, auto-deployed, in every region', () => {
    forwarding.hasResourceProperties('AWS::CloudFormation::StackSet', {
      PermissionModel: 'SERVICE_MANAGED',
      AutoDeployment: { Enabled: true, RetainStacksOnAccountRemoval: false },
      StackInstancesGroup: [{ DeploymentTargets: { OrganizationalUnitIds: ['r-ab12', 'ou-ab12-11111111'] }, Regions: ['eu-west-1', 'us-east-1'] }],
      Parameters: Match.arrayWith([{ ParameterKey: 'CentralEventBusArn', ParameterValue: 'arn:aws:events:eu-west-1:666666666666:event-bus/driftwatch-compliance' }]),
    });
    const member = Template.fromJSON(synth.stacks.memberTemplate);
    member.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.config'], 'detail-type': ['Config Rules Compliance Change'] },
      Targets: [Match.objectLike({ Arn: { Ref: 'CentralEventBusArn' }, RoleArn: Match.anyValue() })],
    });
    expect(member.toJSON()['Resources']).not.toHaveProperty(['Rule', 'Properties', 'EventBusName']);
    member.hasResource('AWS::IAM::Role', { Condition: 'IsEvaluatorRegion', Properties: Match.objectLike({ RoleName: 'driftwatch-config-rule-evaluator' }) });
    const body = JSON.parse(String((Object.values(forwarding.findResources('AWS::CloudFormation::StackSet'))[0]!['Properties'] as { TemplateBody: string }).TemplateBody));
    expect(body).toEqual(synth.stacks.memberTemplate);
    expect(JSON.stringify(body)).not.toMatch(/BootstrapVersion/);
  });

  it('emits one organization rule per catalog rule; ProductionOnly ones exclude exactly the non-production accounts', () => {
    const orgRules = Object.values(rules.findResources('AWS::Config::OrganizationConfigRule')).map((r) => r['Properties'] as Record<string, unknown>);
    expect(orgRules.map((r) => r['OrganizationConfigRuleName']).sort()).toEqual(BuiltInRules.map((r) => r.name).sort());
    for (const rule of BuiltInRules) {
      const emitted = orgRules.find((r) => r['OrganizationConfigRuleName'] === rule.name)!;
      expect(emitted['ExcludedAccounts'], rule.name).toEqual(rule.scope === 'ProductionOnly' ? ExpectedExcluded : undefined);
      if (rule.custom) {
        expect(emitted['OrganizationCustomRuleMetadata'], rule.name).toMatchObject({ LambdaFunctionArn: { 'Fn::GetAtt': [expect.stringMatching(/Function/), 'Arn'] } });
      } else {
        expect(emitted['OrganizationManagedRuleMetadata'], rule.name).toMatchObject({ RuleIdentifier: rule.managedRuleIdentifier });
      }
    }
    expect(orgRules.find((r) => r['OrganizationConfigRuleName'] === 'restricted-ssh')!['OrganizationManagedRuleMetadata']).toMatchObject({ RuleIdentifier: 'INCOMING_SSH_DISABLED', ResourceTypesScope: ['AWS::EC2::SecurityGroup'] });
    expect(orgRules.find((r) => r['OrganizationConfigRuleName'] === 'iam-password-policy')!['OrganizationManagedRuleMetadata']).toMatchObject({
      MaximumExecutionFrequency: 'TwentyFour_Hours',
      InputParameters: expect.stringContaining('"MinimumPasswordLength":"14"'),
    });
    expect(orgRules.find((r) => r['OrganizationConfigRuleName'] === 'vpc-flow-logs-enabled-with-eni')!['OrganizationCustomRuleMetadata']).toMatchObject({
      OrganizationConfigRuleTriggerTypes: ['ConfigurationItemChangeNotification', 'OversizedConfigurationItemChangeNotification', 'ScheduledNotification'],
      ResourceTypesScope: ['AWS::EC2::VPC'],
    });
  });

  it('runs the custom rules as nodejs24.x Lambdas that Config may invoke', () => {
    rules.resourcePropertiesCountIs('AWS::Lambda::Function', { Runtime: 'nodejs24.x', Environment: { Variables: Match.objectLike({ EVALUATOR_ROLE_NAME: 'driftwatch-config-rule-evaluator' }) } }, 3);
    rules.resourcePropertiesCountIs('AWS::Lambda::Permission', { Action: 'lambda:InvokeFunction', Principal: 'config.amazonaws.com' }, 3);
    rules.hasResourceProperties('AWS::IAM::Role', { RoleName: 'driftwatch-custom-rules-eu-west-1' });
    expect(synth.stacks.orgRules.map((s) => s.region)).toEqual(['eu-west-1', 'us-east-1']);
  });

  it('passes cdk-nag AwsSolutions with zero unacknowledged errors, every acknowledgement with a reason', () => {
    const report = readNagReport(join(synth.dir, 'cdk.out'));
    expect(report.errors).toEqual([]);
    expect(report.acknowledged.length).toBeGreaterThan(0);
    const acknowledgements = Object.values(central.toJSON()['Resources'] as Record<string, { Metadata?: unknown }>);
    expect(acknowledgements.length).toBeGreaterThan(0);
  });
});

describe('Lambda runtime, existing database, new OpenSearch domain, provisioned stream', () => {
  let synth: ReturnType<typeof synthApp>;
  let central: Template;

  beforeAll(() => {
    synth = synthApp(
      {
        ...BaseSettings,
        centralAccount: undefined,
        regions: ['eu-west-1'],
        runtime: 'lambda',
        stream: { mode: 'provisioned', shardCount: 8 },
        database: { mode: 'existing', host: 'db.internal.example.com', secretArn: 'arn:aws:secretsmanager:eu-west-1:666666666666:secret:driftwatch/db-AbCdEf', securityGroupId: 'sg-0123456789abcdef0' },
        search: { mode: 'domain' },
        vpc: { vpcId: 'vpc-0abc', availabilityZones: ['eu-west-1a', 'eu-west-1b'], privateSubnetIds: ['subnet-0aa', 'subnet-0bb'] },
      },
      {},
      lambdaBundles,
    );
    central = Template.fromStack(synth.stacks.central);
  });

  it('maps the stream to a nodejs24.x handler with partial batch failures, bisect on error and unlimited retries', () => {
    central.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('ComplianceStream'), 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 500,
      MaximumRetryAttempts: Match.absent(),
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('ConsumerFailureQueue'), 'Arn'] } } },
    });
    central.resourcePropertiesCountIs('AWS::Lambda::Function', { Runtime: 'nodejs24.x', Handler: 'index.handler', Environment: { Variables: Match.objectLike({ KINESIS_STREAM: Match.anyValue() }) } }, 2);
    central.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)' });
    central.hasResourceProperties('AWS::Kinesis::Stream', { ShardCount: 8, StreamModeDetails: { StreamMode: 'PROVISIONED' } });
  });

  it('gives the handlers secret ARNs to resolve, never secret values, and the IAM to read them', () => {
    const fn = Object.values(central.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: Match.objectLike({ DRIFTWATCH_SECRETS: Match.anyValue() }) } } }))[0]!;
    const variables = (fn['Properties'] as { Environment: { Variables: Record<string, unknown> } }).Environment.Variables;
    expect(variables['DATABASE_URL']).toBe('postgres://db.internal.example.com:5432/driftwatch?sslmode=verify-full');
    expect(JSON.parse(String(variables['DRIFTWATCH_SECRETS']))).toEqual({
      PGUSER: { secretArn: 'arn:aws:secretsmanager:eu-west-1:666666666666:secret:driftwatch/db-AbCdEf', jsonKey: 'username' },
      PGPASSWORD: { secretArn: 'arn:aws:secretsmanager:eu-west-1:666666666666:secret:driftwatch/db-AbCdEf', jsonKey: 'password' },
    });
    expect(variables).not.toHaveProperty('PGPASSWORD');
    expect(variables['NODE_EXTRA_CA_CERTS']).toBe('/var/runtime/ca-cert.pem');
    const policies = JSON.stringify(central.findResources('AWS::IAM::Policy'));
    expect(policies).toMatch(/secretsmanager:GetSecretValue/);
    expect(policies).toMatch(/kinesis:GetRecords/);
    expect(policies).toMatch(/es:ESHttpPost/);
    central.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { GroupId: 'sg-0123456789abcdef0', FromPort: 5432, ToPort: 5432 });
    central.hasResourceProperties('AWS::OpenSearchService::Domain', { NodeToNodeEncryptionOptions: { Enabled: true }, EncryptionAtRestOptions: Match.objectLike({ Enabled: true }) });
  });

  it('asks for the central bus ARN as a parameter when the central account is not given', () => {
    const forwarding = Template.fromStack(synth.stacks.forwarding);
    forwarding.hasParameter('CentralEventBusArn', { Type: 'String' });
    forwarding.hasResourceProperties('AWS::CloudFormation::StackSet', { Parameters: Match.arrayWith([{ ParameterKey: 'CentralEventBusArn', ParameterValue: { Ref: 'CentralEventBusArn' } }]) });
  });

  it('passes cdk-nag with zero unacknowledged errors', () => {
    expect(readNagReport(join(synth.dir, 'cdk.out')).errors).toEqual([]);
  });
});

describe('npm run synth', () => {
  it('writes every template without AWS credentials and reports cdk-nag clean', async () => {
    const env = { ...process.env, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_PROFILE: 'driftwatch-none', AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent' };
    const { stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'infra/aws/bin/driftwatch-aws.ts', '-c', 'regions=["us-east-1"]'], { cwd: RepoRoot, env });
    expect(stderr).toMatch(/driftwatch-aws: 3 stacks \(\+ the member template\) in .*cdk\.out, runtime ecs, 32 organization rules x 1 regions, cdk-nag AwsSolutions: 0 errors, 0 warnings, \d+ acknowledged/);
  }, 300_000);
});
