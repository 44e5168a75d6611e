import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FirehoseClient, PutRecordBatchCommand, ResourceNotFoundException, ListDeliveryStreamsCommand } from '@aws-sdk/client-firehose';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { AwsJsonServer, AwsServiceError, TestCredentials, paginate } from './aws-json-server.ts';

const streams = Array.from({ length: 25 }, (_, i) => `stream-${String(i).padStart(2, '0')}`);

describe('AwsJsonServer through the real SDK client', () => {
  let server: AwsJsonServer;
  let client: FirehoseClient;

  beforeAll(async () => {
    server = await AwsJsonServer.start([
      {
        targetPrefix: 'Firehose_20150804',
        operations: {
          PutRecordBatch: (input) => {
            if (input.DeliveryStreamName !== 'archive') throw new AwsServiceError('ResourceNotFoundException', `stream ${String(input.DeliveryStreamName)} not found`);
            const records = input.Records as { Data: string }[];
            return { FailedPutCount: 0, Encrypted: false, RequestResponses: records.map((_, i) => ({ RecordId: `r-${i}` })) };
          },
          // Firehose pages by ExclusiveStartDeliveryStreamName; the generic token pager is exercised directly below.
          ListDeliveryStreams: (input) => {
            const after = typeof input.ExclusiveStartDeliveryStreamName === 'string' ? streams.indexOf(input.ExclusiveStartDeliveryStreamName) + 1 : 0;
            const limit = Number(input.Limit ?? 10);
            return { DeliveryStreamNames: streams.slice(after, after + limit), HasMoreDeliveryStreams: after + limit < streams.length };
          },
        },
      },
    ]);
    client = new FirehoseClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: TestCredentials, requestHandler: new NodeHttpHandler(), maxAttempts: 4 });
  });

  afterAll(async () => {
    client?.destroy();
    await server?.close();
  });

  it('answers an operation with the handler result, bytes base64-encoded by the SDK', async () => {
    const output = await client.send(new PutRecordBatchCommand({ DeliveryStreamName: 'archive', Records: [{ Data: Buffer.from('{"a":1}\n') }] }));
    expect(output.FailedPutCount).toBe(0);
    expect(output.RequestResponses).toEqual([{ RecordId: 'r-0' }]);
    const call = server.callsOf('PutRecordBatch').at(-1)!;
    expect(Buffer.from((call.input.Records as { Data: string }[])[0]!.Data, 'base64').toString()).toBe('{"a":1}\n');
  });

  it('turns an AwsServiceError into the typed SDK exception', async () => {
    const error = await client.send(new PutRecordBatchCommand({ DeliveryStreamName: 'nope', Records: [{ Data: Buffer.from('x') }] })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResourceNotFoundException);
    expect((error as Error).message).toBe('stream nope not found');
  });

  it('a throttling burst is retried by the SDK and then succeeds', async () => {
    const before = server.callsOf('PutRecordBatch').length;
    server.throttle(2, 'PutRecordBatch');
    const output = await client.send(new PutRecordBatchCommand({ DeliveryStreamName: 'archive', Records: [{ Data: Buffer.from('y') }] }));
    expect(output.FailedPutCount).toBe(0);
    const calls = server.callsOf('PutRecordBatch').slice(before);
    expect(calls.map((c) => c.error ?? 'ok')).toEqual(['ThrottlingException', 'ThrottlingException', 'ok']);
  });

  it('a burst longer than the retry budget surfaces the throttling error', async () => {
    const impatient = new FirehoseClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: TestCredentials, requestHandler: new NodeHttpHandler(), maxAttempts: 2 });
    server.throttle(10, 'PutRecordBatch');
    const error = await impatient.send(new PutRecordBatchCommand({ DeliveryStreamName: 'archive', Records: [{ Data: Buffer.from('z') }] })).catch((e: unknown) => e);
    impatient.destroy();
    expect((error as Error).name).toBe('ThrottlingException');
    server.clearFaults();
  });

  it('pages a listing', async () => {
    const names: string[] = [];
    let start: string | undefined;
    for (;;) {
      const page = await client.send(new ListDeliveryStreamsCommand({ Limit: 10, ...(start ? { ExclusiveStartDeliveryStreamName: start } : {}) }));
      names.push(...(page.DeliveryStreamNames ?? []));
      if (!page.HasMoreDeliveryStreams) break;
      start = names.at(-1);
    }
    expect(names).toEqual(streams);
  });
});

describe('paginate', () => {
  it('walks every item once with opaque tokens and refuses a forged token', () => {
    const items = Array.from({ length: 250 }, (_, i) => i);
    const seen: number[] = [];
    let token: string | undefined;
    do {
      const { page, nextToken } = paginate(items, token, 100);
      seen.push(...page);
      token = nextToken;
    } while (token);
    expect(seen).toEqual(items);
    expect(() => paginate(items, 'bogus', 100)).toThrow(AwsServiceError);
  });
});
