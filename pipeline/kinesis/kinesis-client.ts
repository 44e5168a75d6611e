import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { JsonShapeDeserializer2 } from '@smithy/core/protocols';
import { NormalizedSchema } from '@smithy/core/schema';
import { decodeBase64 } from './base64-decoder.ts';

export interface KinesisClientOptions {
  readonly region: string;
  readonly endpoint?: string;
  /** How record Data (base64 in every GetRecords response) becomes bytes; tests count its calls. */
  readonly blobDecoder?: (text: string) => Uint8Array;
}

/**
 * The SDK's JSON deserializer with blobs decoded by `decodeBase64`. The SDK's own blob decoding runs a regular
 * expression over each record's whole text and ignores the client's `base64Decoder` setting (it calls its own function
 * directly), so the setting alone left the regex at ~4 % of the consumer's CPU in `npm run bench:catchup`.
 */
export class KinesisJsonDeserializer extends JsonShapeDeserializer2 {
  readonly #decode: (text: string) => Uint8Array;

  constructor(settings: JsonShapeDeserializer2['settings'], decode: (text: string) => Uint8Array) {
    super(settings);
    this.#decode = decode;
  }

  protected override _read(schema: Parameters<JsonShapeDeserializer2['readObject']>[0], value: unknown): unknown {
    if (typeof value === 'string' && NormalizedSchema.of(schema).isBlobSchema()) return this.#decode(value);
    return super._read(schema, value);
  }
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
  // decoding changes. Should an SDK release reshape this, the client keeps the SDK's own (test/pipeline/kinesis-client.test.ts fails).
  const protocol = client.config.protocol as unknown as { deserializer?: unknown };
  if (protocol.deserializer instanceof JsonShapeDeserializer2) {
    protocol.deserializer = new KinesisJsonDeserializer(protocol.deserializer.settings, decode);
  }
  return client;
}
