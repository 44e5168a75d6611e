import { z } from 'zod';
import { RegionInfo } from 'aws-cdk-lib/region-info';

const knownRegions: ReadonlySet<string> = new Set(RegionInfo.regions.map((region) => region.name));

/** A region AWS has (aws-cdk-lib's region facts): a typo stops synth instead of deploying nowhere. */
export const AwsRegion = z.string().refine((name) => knownRegions.has(name), { error: (issue) => `unknown AWS region ${JSON.stringify(issue.input)}` });

export const AccountId = z.string().regex(/^\d{12}$/, 'an AWS account id has 12 digits');
const Int = (min: number, max: number) => z.number().int().min(min).max(max);
const Arn = (service: string) => z.string().regex(new RegExp(`^arn:aws[a-z-]*:${service}:`), `expected an ${service} ARN`);

/** The 16 regions of the origin case, the default for forwarding and organization rules. */
export const OriginCaseRegions = [
  'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'ca-central-1', 'sa-east-1',
  'eu-west-1', 'eu-west-2', 'eu-west-3', 'eu-central-1', 'eu-north-1',
  'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-southeast-1', 'ap-southeast-2',
] as const;

/** An existing VPC, given by attributes so synth needs no lookup (no credentials). */
export const ExistingVpc = z.object({
  vpcId: z.string().regex(/^vpc-[0-9a-f]+$/, 'expected vpc-...'),
  availabilityZones: z.array(z.string().min(1)).min(2),
  privateSubnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]+$/, 'expected subnet-...')).min(2),
});

/**
 * The state store. `existing`: DATABASE_URL is built from host, port and database; the user name and password come
 * from the secret's `username` and `password` keys as PGUSER/PGPASSWORD (never in the template). `aurora`: an Aurora
 * PostgreSQL Serverless v2 cluster with a generated secret of the same shape.
 */
export const DatabaseSettings = z.discriminatedUnion('mode', [
  z.object({
    mode: z.literal('existing'),
    host: z.string().min(1),
    port: Int(1, 65_535).default(5432),
    database: z.string().min(1).default('driftwatch'),
    secretArn: Arn('secretsmanager'),
    /** Security group of the database: the consumer's group is allowed in on the port. */
    securityGroupId: z.string().regex(/^sg-[0-9a-f]+$/).optional(),
    sslMode: z.enum(['disable', 'require', 'verify-full']).default('verify-full'),
  }),
  z.object({
    mode: z.literal('aurora'),
    minCapacityAcu: z.number().min(0).max(256).default(0.5),
    maxCapacityAcu: z.number().min(1).max(256).default(4),
    database: z.string().min(1).default('driftwatch'),
  }),
]);

/** The search sink: none, an existing endpoint (SigV4 or basic auth), or a new OpenSearch Service domain. */
export const SearchSettings = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('none') }),
  z.object({
    mode: z.literal('existing'),
    url: z.url(),
    auth: z.enum(['sigv4', 'basic']).default('sigv4'),
    /** For sigv4: the domain (or collection) ARN the consumer may call. */
    domainArn: z.string().regex(/^arn:aws[a-z-]*:(es|aoss):/, 'expected an es or aoss ARN').optional(),
    service: z.enum(['es', 'aoss']).default('es'),
    /** For basic: a secret with `username` and `password` keys. */
    secretArn: Arn('secretsmanager').optional(),
  }),
  z.object({
    mode: z.literal('domain'),
    instanceType: z.string().default('r7g.large.search'),
    instanceCount: Int(2, 80).default(2),
    volumeGiB: Int(10, 16_384).default(100),
  }),
]);

/**
 * Everything the CDK app needs to know about the organization, from a YAML/JSON file (context `config`) with single
 * values overridable by context (`-c runtime=lambda`).
 *
 * @example
 * { organizationId: 'o-a1b2c3d4e5', centralAccount: '222233334444', centralRegion: 'eu-west-1',
 *   forwarding: { organizationalUnitIds: ['r-ab12'] }, accountRegistry: 'accounts.yaml', runtime: 'ecs',
 *   database: { mode: 'aurora' }, search: { mode: 'domain' } }
 */
export const DeploymentSettings = z.object({
  organizationId: z.string().regex(/^o-[a-z0-9]{10,32}$/, 'expected an organization id such as o-a1b2c3d4e5'),
  /** The security/audit account of the bus, stream, archive and consumer; unset = environment-agnostic templates. */
  centralAccount: AccountId.optional(),
  centralRegion: AwsRegion.default('us-east-1'),
  /** The account deploying organization rules and the StackSet: the management account or a delegated admin. */
  managementAccount: AccountId.optional(),
  callAs: z.enum(['SELF', 'DELEGATED_ADMIN']).default('SELF'),
  /** Regions whose events are forwarded and where organization rules run. */
  regions: z.array(AwsRegion).min(1).default([...OriginCaseRegions]),
  forwarding: z.object({
    /** The organization root (r-...) for every account, or OUs (ou-...): new accounts there get the stack. */
    organizationalUnitIds: z.array(z.string().regex(/^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$/, 'expected r-... or ou-...-...')).min(1),
    failureTolerancePercentage: Int(0, 100).default(10),
    maxConcurrentPercentage: Int(1, 100).default(25),
  }),
  /** The account registry file (DRIFTWATCH_ACCOUNTS format, or `driftwatch accounts export`): ProductionOnly exclusions. */
  accountRegistry: z.string().min(1).optional(),
  /** A rule catalog file (DRIFTWATCH_RULE_CATALOG format) overriding or extending the built-in catalog. */
  ruleCatalog: z.string().min(1).optional(),
  /** The region where IAM users are recorded (global resources): the IAM rule sweeps only there. */
  globalResourcesRegion: AwsRegion.optional(),
  stream: z
    .object({
      mode: z.enum(['on-demand', 'provisioned']).default('on-demand'),
      shardCount: Int(1, 500).default(4),
      retentionHours: Int(24, 8760).default(168),
    })
    .prefault({}),
  archive: z
    .object({
      infrequentAccessAfterDays: Int(30, 3650).default(30),
      glacierAfterDays: Int(31, 3650).default(90),
      expireAfterDays: Int(1, 36_500).default(730),
      bufferingSeconds: Int(0, 900).default(300),
      bufferingMiB: Int(1, 128).default(64),
    })
    .prefault({}),
  alarmEmail: z.email().optional(),
  runtime: z.enum(['ecs', 'lambda']).default('ecs'),
  vpc: ExistingVpc.optional(),
  database: DatabaseSettings.default({ mode: 'aurora', minCapacityAcu: 0.5, maxCapacityAcu: 4, database: 'driftwatch' }),
  search: SearchSettings.default({ mode: 'none' }),
  /** Secret holding the Slack bot token (xoxb-...) as its plain value; unset = alerts go to the consumer's log. */
  slackTokenSecretArn: Arn('secretsmanager').optional(),
  /** Extra driftwatch settings (README's configuration table) for the consumer, e.g. SLACK_SECURITY_CHANNEL. */
  consumerEnvironment: z.record(z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'expected an environment variable name'), z.string()).default({}),
  ecs: z
    .object({
      /** A pushed image (e.g. from CI); unset = built from the repository's Dockerfile at deploy time. */
      imageUri: z.string().min(1).optional(),
      cpu: z.union([z.literal(256), z.literal(512), z.literal(1024), z.literal(2048), z.literal(4096)]).default(1024),
      memoryMiB: Int(512, 30_720).default(2048),
      desiredCount: Int(1, 100).default(2),
      logRetentionDays: Int(1, 3653).default(90),
    })
    .prefault({}),
  lambda: z
    .object({
      /** Output of `npm run build:lambda` (relative to the repository root). */
      bundleDir: z.string().min(1).default('dist/lambda'),
      memoryMiB: Int(128, 10_240).default(1024),
      timeoutSeconds: Int(10, 900).default(120),
      batchSize: Int(1, 10_000).default(500),
      maxBatchingWindowSeconds: Int(0, 300).default(1),
      parallelizationFactor: Int(1, 10).default(1),
      /** Unset = retry a failing batch until its records expire, so the shard waits (like `run`) instead of skipping. */
      retryAttempts: Int(0, 10_000).optional(),
      logRetentionDays: Int(1, 3653).default(90),
    })
    .prefault({}),
});
export type DeploymentSettings = z.infer<typeof DeploymentSettings>;
export type DatabaseSettings = z.infer<typeof DatabaseSettings>;
export type SearchSettings = z.infer<typeof SearchSettings>;
