import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

export interface AwsClientOptions {
  readonly region: string;
  readonly endpoint?: string;
  /** Assumed with STS before every call batch (refreshed by the provider before expiry). */
  readonly roleArn?: string;
  readonly sessionName: string;
}

/** What every driftwatch AWS client shares (Config, Organizations): endpoint override, optional role, adaptive retries. */
export interface AwsClientConfig {
  readonly region: string;
  readonly endpoint?: string;
  readonly credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  readonly requestHandler: NodeHttpHandler;
  readonly maxAttempts: number;
  readonly retryMode: 'adaptive';
}

const LocalEndpoint = /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:|\/|$)/;

/**
 * Adaptive retry mode: the SDK's client-side rate limiter slows the client down when the service throttles, which is
 * what Config's low per-account API rates need. A local endpoint gets dummy credentials (tests, the try-out server).
 */
export function awsClientConfig(options: AwsClientOptions): AwsClientConfig {
  const local = options.endpoint !== undefined && LocalEndpoint.test(options.endpoint);
  let credentials: AwsClientConfig['credentials'];
  if (options.roleArn) {
    credentials = fromTemporaryCredentials({
      params: { RoleArn: options.roleArn, RoleSessionName: options.sessionName, DurationSeconds: 3_600 },
      clientConfig: { region: options.region },
    });
  } else if (local) {
    credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  }
  return {
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(credentials ? { credentials } : {}),
    // Keep-alive: hundreds of pages in a row; a new connection per page cost a third of the time against a local server.
    requestHandler: new NodeHttpHandler({
      connectionTimeout: 5_000,
      requestTimeout: 60_000,
      httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 8 }),
      httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 8 }),
    }),
    maxAttempts: 4,
    retryMode: 'adaptive',
  };
}

const Throttling = new Set(['ThrottlingException', 'TooManyRequestsException', 'Throttling', 'RequestLimitExceeded', 'LimitExceededException', 'ProvisionedThroughputExceededException']);
const Transient = new Set(['ServiceUnavailableException', 'ServiceUnavailable', 'InternalFailure', 'InternalServerError', 'InternalException', 'ServiceException', 'RequestTimeout', 'TimeoutError']);

export function isThrottling(error: unknown): boolean {
  return error instanceof Error && Throttling.has(error.name);
}

function isTransient(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return Transient.has(error.name) || (status !== undefined && status >= 500) || ['ECONNRESET', 'ECONNREFUSED', 'EPIPE'].includes((error as { code?: string }).code ?? '');
}

export interface AwsCallOptions {
  readonly signal: AbortSignal;
  /** Called before each wait after a throttling or transient error (progress, logs, counters). */
  readonly onRetry?: (error: Error, attempt: number, delayMs: number) => void;
  /** Transient (5xx, network) failures tolerated in a row before giving up; throttling is retried for as long as it lasts. */
  readonly maxTransientRetries?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly random?: () => number;
}

/**
 * One AWS call that throttling slows down but never fails: when the SDK's own retries are spent on a throttling
 * burst, wait (exponential, full jitter, capped) and call again, until it passes or `signal` aborts. Other errors
 * are thrown at once, transient ones after a few tries: the caller resumes from its cursor.
 */
export async function callAws<T>(call: () => Promise<T>, options: AwsCallOptions): Promise<T> {
  const base = options.baseDelayMs ?? 500;
  const max = options.maxDelayMs ?? 30_000;
  const random = options.random ?? Math.random;
  let transient = 0;
  for (let attempt = 1; ; attempt++) {
    options.signal.throwIfAborted();
    try {
      return await call();
    } catch (error) {
      const throttled = isThrottling(error);
      if (!throttled) {
        if (!isTransient(error) || ++transient > (options.maxTransientRetries ?? 5)) throw error;
      }
      const delay = Math.floor(random() * Math.min(max, base * 2 ** Math.min(attempt - 1, 16)));
      options.onRetry?.(error as Error, attempt, delay);
      await sleep(delay, undefined, { signal: options.signal });
    }
  }
}
