/**
 * The Kinesis client's base64 decoder (record Data arrives base64 in every GetRecords response). The SDK's own checks
 * each record's whole text against a regular expression before decoding it: 8 % of the consumer's CPU in a catch-up
 * (npm run bench:catchup profile). Node's decoder skips characters that are not base64 instead of failing, so the
 * decoded length is checked instead: a padding error or a foreign character still throws, as the SDK's does (only
 * the URL-safe `-` and `_`, which Kinesis never sends, pass). createKinesisClient installs it where the SDK decodes
 * blobs (KinesisJsonDeserializer): the client's `base64Decoder` setting alone does not reach JSON responses.
 */
export function decodeBase64(input: string): Uint8Array {
  if ((input.length * 3) % 4 !== 0) throw new TypeError('Incorrect padding on base64 string.');
  const padding = input.endsWith('==') ? 2 : input.endsWith('=') ? 1 : 0;
  const buffer = Buffer.from(input, 'base64');
  if (buffer.byteLength !== (input.length / 4) * 3 - padding) throw new TypeError('Invalid base64 string.');
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}
