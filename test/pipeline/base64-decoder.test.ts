import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeBase64 } from '../../pipeline/kinesis/base64-decoder.ts';

// The SDK's rule (@smithy/core serde fromBase64): padding, then the whole text against this pattern.
const SdkPattern = /^[A-Za-z0-9+/]*={0,2}$/;

describe('decodeBase64 (the Kinesis client base64 decoder)', () => {
  it('decodes what Kinesis sends byte for byte, at every length and padding', () => {
    for (let length = 0; length < 200; length++) {
      const bytes = randomBytes(length);
      const text = bytes.toString('base64');
      expect(SdkPattern.test(text)).toBe(true);
      expect(Buffer.from(decodeBase64(text)).equals(bytes)).toBe(true);
    }
  });

  it('throws where the SDK throws: bad padding, characters outside base64, padding in the middle', () => {
    for (const text of ['a', 'abc', 'ab=c', 'a*c=', 'ab c', '====', 'a===', '=abc', 'ab\ncd==', 'abcd\u00e9fg=']) {
      expect(SdkPattern.test(text) && (text.length * 3) % 4 === 0).toBe(false);
      expect(() => decodeBase64(text), text).toThrow(TypeError);
    }
  });
});
