import { FirehoseClient } from '@aws-sdk/client-firehose';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { FirehoseConfig } from './config.ts';

/**
 * The SDK client of the archive sink. Few SDK attempts: the sink's deliver() loop owns the long backoff and resends
 * only the records that failed, where the SDK would resend a whole request (more duplicates). HTTP/1.1 and dummy
 * credentials for a local endpoint, as for Kinesis (pipeline/kinesis/kinesis-client.ts).
 */
export function createFirehoseClient(config: Pick<FirehoseConfig, 'region' | 'endpoint'>): FirehoseClient {
  const local = config.endpoint !== undefined && /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:|\/|$)/.test(config.endpoint);
  return new FirehoseClient({
    region: config.region,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    ...(local ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
    requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 30_000 }),
    maxAttempts: 2,
  });
}
