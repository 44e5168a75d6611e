import { randomBytes } from 'node:crypto';
import { GetRecordsCommand, GetShardIteratorCommand, InvalidArgumentException } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKinesisClient } from '../../pipeline/kinesis/kinesis-client.ts';
import { decodeBase64 } from '../../pipeline/kinesis/base64-decoder.ts';
import { startLocalKinesis } from '../support/kinesis.ts';
import type { LocalKinesis } from '../support/kinesis.ts';

let kinesis: LocalKinesis;

beforeAll(async () => {
  kinesis = await startLocalKinesis();
  await kinesis.createStream('blobs', 1);
});

afterAll(async () => {
  await kinesis.close();
});

describe('the Kinesis client (real SDK against kinesalite)', () => {
  it('decodes every record of GetRecords through its own base64 decoder, byte for byte', async () => {
    const payloads = Array.from({ length: 40 }, (_, i) => randomBytes(1 + i * 37));
    await kinesis.put('blobs', payloads.map((data, i) => ({ data, partitionKey: `p${i}` })));
    let decoded = 0;
    const client = createKinesisClient({
      region: 'us-east-1',
      endpoint: kinesis.endpoint,
      blobDecoder: (text) => {
        decoded++;
        return decodeBase64(text);
      },
    });
    try {
      const iterator = await client.send(new GetShardIteratorCommand({ StreamName: 'blobs', ShardId: 'shardId-000000000000', ShardIteratorType: 'TRIM_HORIZON' }));
      const records = await client.send(new GetRecordsCommand({ ShardIterator: iterator.ShardIterator! }));
      expect(records.Records?.map((r) => Buffer.from(r.Data!).toString('hex'))).toEqual(payloads.map((p) => p.toString('hex')));
      // The SDK's own decoder (a regex over every record) is not in the path.
      expect(decoded).toBe(payloads.length);
    } finally {
      client.destroy();
    }
  });

  it('still turns an error response into the SDK exception type', async () => {
    const client = createKinesisClient({ region: 'us-east-1', endpoint: kinesis.endpoint });
    try {
      const error = await client.send(new GetRecordsCommand({ ShardIterator: 'AAAAAAAAAAAnot-an-iterator' })).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidArgumentException);
    } finally {
      client.destroy();
    }
  });
});
