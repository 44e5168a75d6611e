import { JsonShapeDeserializer2 } from '@smithy/core/protocols';
import { NormalizedSchema } from '@smithy/core/schema';

/**
 * The SDK's JSON deserializer with blobs decoded by the function it is given (`decodeBase64` in createKinesisClient).
 * The SDK's own blob decoding runs a regular expression over each record's whole text and ignores the client's
 * `base64Decoder` setting (it calls its own function directly): the regex was ~4 % of the consumer's CPU in
 * `npm run bench:catchup`.
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
