import { z } from 'zod';

const Bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');
const Int = (min: number, max: number) =>
  z.coerce
    .number({ error: `expected a whole number from ${min} to ${max}` })
    .int({ error: `expected a whole number from ${min} to ${max}` })
    .min(min, { error: `expected a whole number from ${min} to ${max}` })
    .max(max, { error: `expected a whole number from ${min} to ${max}` });

/**
 * Settings read from the environment. Every field names its variable, so an error can name the bad one.
 *
 * @example
 * { DATABASE_URL: 'postgres://driftwatch@db:5432/driftwatch', KINESIS_STREAM: 'config-compliance', AWS_REGION: 'eu-west-1' }
 */
export const Settings = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL')
    .optional(),
  /** Directory for the embedded database when DATABASE_URL is unset; unset = in memory. */
  DRIFTWATCH_DATA_DIR: z.string().optional(),
  DATABASE_POOL_SIZE: Int(1, 100).default(8),
  KINESIS_STREAM: z.string().regex(/^[a-zA-Z0-9_.-]{1,128}$/, 'expected a Kinesis stream name').default('driftwatch-compliance'),
  KINESIS_ENDPOINT: z.url('expected a URL').optional(),
  AWS_REGION: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'expected an AWS region such as us-east-1').default('us-east-1'),
  DRIFTWATCH_WORKER_ID: z.string().min(1).optional(),
  DRIFTWATCH_BATCH_LIMIT: Int(1, 10_000).default(2_000),
  DRIFTWATCH_MAX_IN_FLIGHT: Int(1, 64).default(3),
  DRIFTWATCH_POLL_INTERVAL_MS: Int(200, 60_000).default(1_000),
  DRIFTWATCH_LEASE_MS: Int(5_000, 600_000).default(30_000),
  DRIFTWATCH_RULE_CATALOG: z.string().optional(),
  DRIFTWATCH_ACCOUNTS: z.string().optional(),
  DRIFTWATCH_SLA_POLICY: z.string().optional(),
  DRIFTWATCH_PROCESSED_RETENTION_DAYS: Int(1, 365).default(14),
  DRIFTWATCH_MAX_RECORD_BYTES: Int(1_024, 1_048_576).default(262_144),
  OPENSEARCH_URL: z.url('expected a URL').optional(),
  OPENSEARCH_AUTH: z.enum(['none', 'basic', 'sigv4']).default('none'),
  OPENSEARCH_USERNAME: z.string().optional(),
  OPENSEARCH_PASSWORD: z.string().optional(),
  OPENSEARCH_INDEX_PREFIX: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'expected lowercase letters, digits, - or _').default('driftwatch'),
  OPENSEARCH_TLS_INSECURE: Bool.default(false),
  SLACK_TOKEN: z.string().startsWith('xox', 'expected a Slack token (xoxb-...)').optional(),
  SLACK_API_URL: z.url('expected a URL').optional(),
  SLACK_SECURITY_CHANNEL: z.string().default('#security-compliance'),
  SLACK_DEFAULT_CHANNEL: z.string().default('#compliance-triage'),
  DRIFTWATCH_METRICS_PORT: Int(0, 65_535).optional(),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
});
export type Settings = z.infer<typeof Settings>;

/** Variables whose values must never be printed, even in a validation error. */
export const SecretSettings: ReadonlySet<string> = new Set(['DATABASE_URL', 'OPENSEARCH_PASSWORD', 'SLACK_TOKEN']);
