import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { JsonShapeDeserializer2 } from '@smithy/core/protocols';
import { decodeBase64 } from './base64-decoder.ts';
import { KinesisJsonDeserializer } from './kinesis-json-deserializer.ts';

export interface KinesisClientOptions {
  readonly region: string;
  readonly endpoint?: string;
  /** How record Data (base64 in every GetRecords response) becomes bytes; tests count its calls. */
  readonly blobDecoder?: (text: string) => Uint8Array;
}

/**
 * HTTP/1.1 handler on purpose: kinesalite (local and tests) does not speak the SDK's default HTTP/2 for this client.
 * A local endpoint gets dummy credentials so the demo and tests need none.
 */
export function createKinesisClient(options: KinesisClientOptions): KinesisClient {
  const local = options.endpoint !== undefined && /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:|\/|$)/.test(options.endpoint);
  const decode = options.blobDecoder ?? decodeBase64;
  const client = new KinesisClient({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(local ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
    requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 30_000 }),
    maxAttempts: 5,
    base64Decoder: decode,
  });
  // The protocol instance owns the deserializer every response goes through (errors included); only its blob
  // decoding changes. Should an SDK release reshape this, the client keeps the SDK's own decoding, and
  // test/pipeline/kinesis-client.test.ts fails to say so.
  const protocol = client.config.protocol as unknown as { deserializer?: unknown };
  if (protocol.deserializer instanceof JsonShapeDeserializer2) {
    protocol.deserializer = new KinesisJsonDeserializer(protocol.deserializer.settings, decode);
  }
  return client;
}
