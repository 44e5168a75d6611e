import { z } from 'zod';
import { ConfigFileError } from '../../schemas/config-file-error.ts';

const Port = z.coerce
  .number({ error: 'expected a port number from 0 to 65535' })
  .int({ error: 'expected a port number from 0 to 65535' })
  .min(0, { error: 'expected a port number from 0 to 65535' })
  .max(65_535, { error: 'expected a port number from 0 to 65535' });

/** arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<id> (also aws-cn, aws-us-gov). */
const AlbArnPattern = /^arn:aws(-[a-z]+)*:elasticloadbalancing:([a-z]{2}(-[a-z]+)+-\d):\d{12}:loadbalancer\/app\/[A-Za-z0-9-]+\/[a-f0-9]+$/;

/**
 * Settings of the web console (`driftwatch serve`, or `run` with DRIFTWATCH_CONSOLE_PORT). Every field names its
 * variable, so an error can name the bad one.
 *
 * @example
 * { DRIFTWATCH_CONSOLE_PORT: 8080, DRIFTWATCH_CONSOLE_HOST: '127.0.0.1', DRIFTWATCH_CONSOLE_TOKEN: 'a-long-random-secret',
 *   DRIFTWATCH_CONSOLE_SESSION_HOURS: 12, DRIFTWATCH_CONSOLE_SECURE_COOKIE: 'auto' }
 */
export const ConsoleSettings = z.object({
  /** `run` serves the console only when this is set; `serve` defaults to 8080. */
  DRIFTWATCH_CONSOLE_PORT: Port.optional(),
  /** Loopback unless told otherwise: the console shows security findings. */
  DRIFTWATCH_CONSOLE_HOST: z.string().min(1).default('127.0.0.1'),
  /** Shared secret typed into the login form (long and random: it is the only thing standing between a browser and the findings). */
  DRIFTWATCH_CONSOLE_TOKEN: z.string().min(16, 'expected at least 16 characters').max(512, 'expected at most 512 characters').optional(),
  /** Behind an AWS ALB with OIDC: the load balancer that must have signed the x-amzn-oidc-data header. */
  DRIFTWATCH_CONSOLE_ALB_ARN: z.string().regex(AlbArnPattern, 'expected an application load balancer ARN (arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<id>)').optional(),
  /** PEM file of the ALB's public key (closed networks); otherwise keys are fetched by key id from the URL below. */
  DRIFTWATCH_CONSOLE_ALB_KEY_FILE: z.string().min(1).optional(),
  /** Base URL of the ALB's public keys (`<base>/<key id>`); default https://public-keys.auth.elb.<region of the ARN>.amazonaws.com */
  DRIFTWATCH_CONSOLE_ALB_KEY_URL: z.url({ protocol: /^https?$/, error: 'expected a URL (http:// or https://)' }).optional(),
  DRIFTWATCH_CONSOLE_SESSION_HOURS: z.coerce
    .number({ error: 'expected a whole number of hours from 1 to 720' })
    .int({ error: 'expected a whole number of hours from 1 to 720' })
    .min(1, { error: 'expected a whole number of hours from 1 to 720' })
    .max(720, { error: 'expected a whole number of hours from 1 to 720' })
    .default(12),
  /** auto = Secure cookies unless the console listens on loopback over plain http (set true behind TLS). */
  DRIFTWATCH_CONSOLE_SECURE_COOKIE: z.enum(['auto', 'true', 'false']).default('auto'),
});
export type ConsoleSettings = z.infer<typeof ConsoleSettings>;

const Secret = new Set(['DRIFTWATCH_CONSOLE_TOKEN']);

/** Reads the console's variables; a bad one gives a one-line error naming it (never the token's value). */
export function loadConsoleSettings(env: NodeJS.ProcessEnv): ConsoleSettings {
  const input: Record<string, string> = {};
  for (const key of Object.keys(ConsoleSettings.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const parsed = ConsoleSettings.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? 'environment');
    const shown = Secret.has(name) ? '' : ` (got ${JSON.stringify(input[name] ?? '')})`;
    throw new ConfigFileError(`invalid setting ${name}: ${issue.message}${shown}`);
  }
  const settings = parsed.data;
  if ((settings.DRIFTWATCH_CONSOLE_ALB_KEY_FILE || settings.DRIFTWATCH_CONSOLE_ALB_KEY_URL) && !settings.DRIFTWATCH_CONSOLE_ALB_ARN) {
    throw new ConfigFileError('invalid setting DRIFTWATCH_CONSOLE_ALB_ARN: required with DRIFTWATCH_CONSOLE_ALB_KEY_FILE or DRIFTWATCH_CONSOLE_ALB_KEY_URL (the header must come from your load balancer)');
  }
  return settings;
}

/** The region of an ALB ARN (where its public keys are published). */
export function albRegion(arn: string): string {
  const match = AlbArnPattern.exec(arn);
  if (!match) throw new ConfigFileError('invalid setting DRIFTWATCH_CONSOLE_ALB_ARN: not an application load balancer ARN');
  return match[2]!;
}
