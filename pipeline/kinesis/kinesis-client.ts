import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { decodeBase64 } from './base64-decoder.ts';

export interface KinesisClientOptions {
  readonly region: string;
  readonly endpoint?: string;
}

/**
 * HTTP/1.1 handler on purpose: kinesalite (local and tests) does not speak the SDK's default HTTP/2 for this client.
 * A local endpoint gets dummy credentials so the demo and tests need none.
 */
export function createKinesisClient(options: KinesisClientOptions): KinesisClient {
  const local = options.endpoint !== undefined && /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:|\/|$)/.test(options.endpoint);
  return new KinesisClient({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(local ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
    requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 30_000 }),
    maxAttempts: 5,
    base64Decoder: decodeBase64,
  });
}
