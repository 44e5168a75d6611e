import { z } from 'zod';

const Bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');
// http(s) only: z.url() alone accepts any scheme, so `localhost:4567` or `user:pass@host` would pass as a URL.
const HttpUrl = () => z.url({ protocol: /^https?$/, error: 'expected a URL (http:// or https://)' });
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
  KINESIS_ENDPOINT: HttpUrl().optional(),
  AWS_REGION: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'expected an AWS region such as us-east-1').default('us-east-1'),
  DRIFTWATCH_WORKER_ID: z.string().min(1).optional(),
  DRIFTWATCH_BATCH_LIMIT: Int(1, 10_000).default(2_000),
  /** Batches read ahead per shard beyond the one in hand: 1 keeps reading and processing overlapped, memory small. */
  DRIFTWATCH_MAX_IN_FLIGHT: Int(1, 64).default(1),
  /** Wait at a shard's tip: 250 ms reads about 3.5 times a second, within Kinesis' 5 GetRecords/s per shard. */
  DRIFTWATCH_POLL_INTERVAL_MS: Int(200, 60_000).default(250),
  DRIFTWATCH_LEASE_MS: Int(5_000, 600_000).default(30_000),
  DRIFTWATCH_RULE_CATALOG: z.string().optional(),
  DRIFTWATCH_ACCOUNTS: z.string().optional(),
  DRIFTWATCH_SLA_POLICY: z.string().optional(),
  DRIFTWATCH_PROCESSED_RETENTION_DAYS: Int(1, 365).default(14),
  DRIFTWATCH_MAX_RECORD_BYTES: Int(1_024, 1_048_576).default(262_144),
  /** Evaluation states each shard keeps in memory (older ones are reloaded from Postgres): memory vs. database reads. */
  DRIFTWATCH_STATE_CACHE_SIZE: Int(100, 10_000_000).default(20_000),
  OPENSEARCH_URL: HttpUrl().optional(),
  OPENSEARCH_AUTH: z.enum(['none', 'basic', 'sigv4']).default('none'),
  OPENSEARCH_USERNAME: z.string().optional(),
  OPENSEARCH_PASSWORD: z.string().optional(),
  OPENSEARCH_INDEX_PREFIX: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'expected lowercase letters, digits, - or _').default('driftwatch'),
  OPENSEARCH_TLS_INSECURE: Bool.default(false),
  /** PEM file of the CA that signed the cluster's certificate (private CAs). */
  OPENSEARCH_TLS_CA_FILE: z.string().optional(),
  /** es = Amazon OpenSearch Service domains, aoss = OpenSearch Serverless (OPENSEARCH_AUTH=sigv4). */
  OPENSEARCH_SIGV4_SERVICE: z.enum(['es', 'aoss']).default('es'),
  /** Monthly event indices older than this are deleted (ISM policy, or `driftwatch opensearch-retention`). */
  OPENSEARCH_RETENTION_DAYS: Int(1, 36_500).default(400),
  OPENSEARCH_BULK_MAX_BYTES: Int(65_536, 104_857_600).default(5_242_880),
  OPENSEARCH_REQUEST_TIMEOUT_MS: Int(1_000, 600_000).default(30_000),
  /** Replicas of driftwatch's indices; unset = the cluster's default. */
  OPENSEARCH_REPLICAS: Int(0, 10).optional(),
  /** Archive every accepted event (enriched, newline-delimited JSON) to this Firehose stream; unset = no archive. */
  FIREHOSE_DELIVERY_STREAM: z.string().regex(/^[a-zA-Z0-9_.-]{1,64}$/, 'expected a Firehose stream name').optional(),
  /** Endpoint override of the Firehose API (a local server, LocalStack); unset = AWS in AWS_REGION. */
  FIREHOSE_ENDPOINT: HttpUrl().optional(),
  SLACK_TOKEN: z.string().startsWith('xox', 'expected a Slack token (xoxb-...)').optional(),
  SLACK_API_URL: HttpUrl().optional(),
  SLACK_SECURITY_CHANNEL: z.string().default('#security-compliance'),
  SLACK_DEFAULT_CHANNEL: z.string().default('#compliance-triage'),
  /**
   * Comma-separated severities whose new findings also go to SLACK_SECURITY_CHANNEL. All by default: security sees
   * every new non-compliance, as the owners do (a rollout's flood becomes one digest); narrow it, e.g. to Critical,High.
   */
  SLACK_SECURITY_SEVERITIES: z.string().regex(/^\s*(Critical|High|Medium|Low)?(\s*,\s*(Critical|High|Medium|Low))*\s*$/, 'expected severities such as Critical,High').default('Critical,High,Medium,Low'),
  /** Minimum gap between two messages to one channel (Slack allows about one per second). */
  SLACK_CHANNEL_INTERVAL_MS: Int(0, 60_000).default(1_000),
  /** More new findings than this for one channel and rule within SLACK_FLOOD_WINDOW_MS become one digest. */
  SLACK_FLOOD_THRESHOLD: Int(1, 100_000).default(20),
  SLACK_FLOOD_WINDOW_MS: Int(1_000, 86_400_000).default(300_000),
  /** A finding that resolves and reopens within this time edits its message instead of posting again. */
  SLACK_DEBOUNCE_MS: Int(0, 86_400_000).default(600_000),
  /** Digest messages are re-rendered at most this often. */
  SLACK_DIGEST_UPDATE_MS: Int(0, 3_600_000).default(15_000),
  SLACK_POLL_INTERVAL_MS: Int(10, 60_000).default(1_000),
  SLACK_REQUEST_TIMEOUT_MS: Int(1_000, 120_000).default(15_000),
  /** How long a notifier's claim on outbox intents holds; renewed while it works, so it only bounds how long a crashed notifier's intents wait. */
  SLACK_CLAIM_LEASE_MS: Int(3_000, 3_600_000).default(120_000),
  /** Base URL for rules without their own runbookUrl: `<base>/<rule-name>`. Shown in Slack, so it may not carry credentials. */
  DRIFTWATCH_RUNBOOK_BASE_URL: HttpUrl()
    .refine((url) => !/^[a-z]+:\/\/[^/?#]*@/i.test(url), 'a runbook link is shown in Slack: it must not carry user:password@')
    .optional(),
  /** Where `driftwatch report --post` sends the monthly company-wide report. */
  SLACK_REPORT_CHANNEL: z.string().default('#compliance-report'),
  /**
   * When `driftwatch run` posts last month's report to SLACK_REPORT_CHANNEL: `first-business-day` (SLA calendar), a day
   * of the month (1-28), or `off` (post with `driftwatch report --post` instead).
   */
  DRIFTWATCH_REPORT_DAY: z
    .string()
    .regex(/^(first-business-day|off|[1-9]|1\d|2[0-8])$/, 'expected first-business-day, off, or a day of the month from 1 to 28')
    .default('first-business-day'),
  /** Local hour (SLA calendar timezone) from which the report is posted that day. */
  DRIFTWATCH_REPORT_HOUR: Int(0, 23).default(9),
  /** How often `driftwatch run` escalates overdue findings, expires risk exceptions and snapshots compliance. */
  DRIFTWATCH_SCHEDULE_INTERVAL_MS: Int(1_000, 3_600_000).default(60_000),
  DRIFTWATCH_METRICS_PORT: Int(0, 65_535).optional(),
  /** Address the metrics server binds: loopback unless told (a container sets 0.0.0.0 so its health check can reach it). */
  DRIFTWATCH_METRICS_HOST: z
    .string()
    .regex(/^[A-Za-z0-9.:-]+$/, 'expected a host name or IP address such as 127.0.0.1, 0.0.0.0 or ::')
    .default('127.0.0.1'),
  // --- accounts from AWS Organizations and reconciliation with the Config aggregator (issue 11) ---
  /** `driftwatch run` syncs the account registry from AWS Organizations (management account or delegated administrator). */
  DRIFTWATCH_ACCOUNTS_SYNC: Bool.default(false),
  DRIFTWATCH_ACCOUNTS_SYNC_INTERVAL_MS: Int(60_000, 86_400_000).default(3_600_000),
  /** Role to assume for Organizations calls (cross-account); unset = the default credential chain. */
  DRIFTWATCH_ORGANIZATIONS_ROLE_ARN: z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'expected an IAM role ARN').optional(),
  ORGANIZATIONS_ENDPOINT: HttpUrl().optional(),
  DRIFTWATCH_TAG_ENVIRONMENT: z.string().min(1).max(128).default('Environment'),
  DRIFTWATCH_TAG_OWNER: z.string().min(1).max(128).default('Owner'),
  DRIFTWATCH_TAG_SLACK_CHANNEL: z.string().min(1).max(128).default('SlackChannel'),
  /** Name of the organization Config aggregator; unset = no reconciliation. */
  DRIFTWATCH_CONFIG_AGGREGATOR: z.string().regex(/^[\w-]{1,256}$/, 'expected a Config aggregator name').optional(),
  /** Region of the aggregator's account (default AWS_REGION). */
  DRIFTWATCH_CONFIG_REGION: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'expected an AWS region such as us-east-1').optional(),
  DRIFTWATCH_CONFIG_ROLE_ARN: z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'expected an IAM role ARN').optional(),
  CONFIG_ENDPOINT: HttpUrl().optional(),
  /** How often `driftwatch run` reconciles with the aggregator (default daily); 0 = never inside run. */
  DRIFTWATCH_RECONCILE_INTERVAL_MS: Int(0, 604_800_000)
    .refine((ms) => ms === 0 || ms >= 60_000, { error: 'expected 0 (never inside run) or at least 60000' })
    .default(86_400_000),
  /** How a first reconcile into an empty database announces its findings: one digest per channel, nothing, or one alert each. */
  DRIFTWATCH_RECONCILE_BACKFILL: z.enum(['digest', 'silent', 'alert']).default('digest'),
  /** A stored evaluation must be older than this before "Config no longer evaluates it" resolves it (aggregation lags). */
  DRIFTWATCH_RECONCILE_GRACE_MS: Int(0, 604_800_000).default(10_800_000),
  /** Unset: info for services (`run`, `notify`), warn for one-shot commands. */
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).optional(),
});
export type Settings = z.infer<typeof Settings>;

/** Variables whose values must never be printed, even in a validation error (URLs may carry user:password@). */
export const SecretSettings: ReadonlySet<string> = new Set(['DATABASE_URL', 'OPENSEARCH_URL', 'OPENSEARCH_PASSWORD', 'SLACK_TOKEN']);
