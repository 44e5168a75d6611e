import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RecordFramer } from '../../pipeline/replay/read-record-frames.ts';

/** Frames `input` fed in chunks of `chunkSize` bytes: [record text (latin1, so any byte shows), sequence] pairs. */
function frame(input: Buffer | string, chunkSize = Infinity): [string, string][] {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const framer = new RecordFramer({ maxBytes: 64 });
  const frames = [];
  const step = Number.isFinite(chunkSize) ? chunkSize : Math.max(bytes.length, 1);
  for (let i = 0; i < bytes.length; i += step) frames.push(...framer.push(bytes.subarray(i, i + step)));
  frames.push(...framer.end());
  return frames.map((f) => [f.data.toString('latin1'), f.indexInLine === 1 ? String(f.line) : `${f.line}:${f.indexInLine}`]);
}

describe('RecordFramer: cuts records out of ndjson and Firehose archives without decoding them', () => {
  const cases: { name: string; input: string | Buffer; expected: [string, string][] }[] = [
    { name: 'ndjson', input: '{"a":1}\n{"b":2}\n', expected: [['{"a":1}', '1'], ['{"b":2}', '2']] },
    { name: 'concatenated with no delimiter (Firehose from Kinesis)', input: '{"a":1}{"b":2}{"c":3}', expected: [['{"a":1}', '1'], ['{"b":2}', '1:2'], ['{"c":3}', '1:3']] },
    { name: 'both, with blank lines and CRLF', input: '\n{"a":1}{"b":2}\r\n\r\n  {"c":3}\r\n', expected: [['{"a":1}', '2'], ['{"b":2}', '2:2'], ['{"c":3}', '4']] },
    { name: 'braces and quotes inside strings', input: '{"a":"}{\\"]["}{"b":"\\\\"}', expected: [['{"a":"}{\\"]["}', '1'], ['{"b":"\\\\"}', '1:2']] },
    { name: 'nested objects and arrays', input: '{"a":{"b":[1,{"c":2}]}}[1,[2]]', expected: [['{"a":{"b":[1,{"c":2}]}}', '1'], ['[1,[2]]', '1:2']] },
    { name: 'a line that is not JSON is one record, spaces and all', input: 'garbage{ x \n{"a":1}', expected: [['garbage{ x ', '1'], ['{"a":1}', '2']] },
    { name: 'an unterminated string ends at its line: the next line is intact', input: '{"a":"oops\n{"b":2}\n', expected: [['{"a":"oops', '1'], ['{"b":2}', '2']] },
    { name: 'an unbalanced object ends at its line', input: '{"a":{"b":1}\n{"c":2}', expected: [['{"a":{"b":1}', '1'], ['{"c":2}', '2']] },
    { name: 'trailing garbage after an object is a record of its own', input: '{"a":1} tail\n', expected: [['{"a":1}', '1'], ['tail', '1:2']] },
    { name: 'a pretty-printed document is one record per line', input: '{\n  "a": 1\n}\n', expected: [['{', '1'], ['"a": 1', '2'], ['}', '3']] },
    { name: 'a UTF-8 byte order mark is not part of the first record', input: '\ufeff{"a":1}', expected: [['{"a":1}', '1']] },
    { name: 'bytes that only begin like a BOM are kept', input: Buffer.from([0xef, 0xbb, 0x41, 0x0a, 0xef]), expected: [['\xef\xbbA', '1'], ['\xef', '2']] },
    { name: 'the last line needs no line end', input: '{"a":1}\nlast', expected: [['{"a":1}', '1'], ['last', '2']] },
    { name: 'longer records are cut at the limit (64 here)', input: `{"a":"${'x'.repeat(100)}"}\n{"b":2}`, expected: [[`{"a":"${'x'.repeat(58)}`, '1'], ['{"b":2}', '2']] },
    {
      name: 'invalid UTF-8 passes through byte for byte',
      input: Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff, 0xfe, 0x7d, 0xc3]), Buffer.from('"}\n'), Buffer.from([0xff, 0x00, 0x9c])]),
      expected: [['{"a":"\xff\xfe}\xc3"}', '1'], ['\xff\x00\x9c', '2']],
    },
  ];

  for (const { name, input, expected } of cases) {
    it(name, () => {
      expect(frame(input)).toEqual(expected);
      // Chunk boundaries never change the records.
      expect(frame(input, 1)).toEqual(expected);
      expect(frame(input, 3)).toEqual(expected);
    });
  }

  it('any sequence of compact JSON objects, concatenated or on lines, comes back exactly, whatever the chunking', () => {
    const objects = fc.array(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer(), fc.array(fc.string(), { maxLength: 3 }))), { minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(objects, fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), fc.integer({ min: 1, max: 17 }), (values, newlines, chunk) => {
        const texts = values.map((v) => JSON.stringify(v));
        const input = texts.map((t, i) => t + (newlines[i] ? '\n' : '')).join('');
        const framer = new RecordFramer({ maxBytes: 1 << 20 });
        const bytes = Buffer.from(input, 'utf8');
        const frames = [];
        for (let i = 0; i < bytes.length; i += chunk) frames.push(...framer.push(bytes.subarray(i, i + chunk)));
        frames.push(...framer.end());
        expect(frames.map((f) => f.data.toString('utf8'))).toEqual(texts);
        const positions = frames.map((f) => `${f.line}:${f.indexInLine}`);
        expect(new Set(positions).size).toBe(positions.length);
      }),
    );
  });
});
