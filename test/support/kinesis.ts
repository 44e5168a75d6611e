import type { AddressInfo } from 'node:net';
import { CreateStreamCommand, DescribeStreamSummaryCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import kinesalite from 'kinesalite';
import { createKinesisClient } from '../../pipeline/kinesis/kinesis-client.ts';

export interface LocalKinesis {
  readonly endpoint: string;
  readonly client: KinesisClient;
  createStream(name: string, shardCount: number): Promise<void>;
  /** PutRecords in chunks of 500; returns sequence numbers in order. */
  put(streamName: string, records: readonly { data: Uint8Array | string; partitionKey: string }[]): Promise<string[]>;
  close(): Promise<void>;
}

export interface LocalKinesisOptions {
  /** Keep records in a LevelDB directory instead of memory (benchmarks with a million-record backlog). */
  readonly path?: string;
}

/** kinesalite in this process: a real Kinesis API server (in memory), as the design brief prescribes. */
export async function startLocalKinesis(options: LocalKinesisOptions = {}): Promise<LocalKinesis> {
  const server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 1_000, ...(options.path ? { path: options.path } : {}) });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = createKinesisClient({ region: 'us-east-1', endpoint });
  return {
    endpoint,
    client,
    async createStream(name, shardCount) {
      await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: shardCount }));
      for (let i = 0; i < 100; i++) {
        const summary = await client.send(new DescribeStreamSummaryCommand({ StreamName: name }));
        if (summary.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`stream ${name} did not become active`);
    },
    async put(streamName, records) {
      const sequenceNumbers: string[] = [];
      for (let i = 0; i < records.length; i += 500) {
        const chunk = records.slice(i, i + 500);
        const result = await client.send(
          new PutRecordsCommand({
            StreamName: streamName,
            Records: chunk.map((r) => ({ Data: typeof r.data === 'string' ? Buffer.from(r.data) : r.data, PartitionKey: r.partitionKey })),
          }),
        );
        if (result.FailedRecordCount) throw new Error(`${result.FailedRecordCount} records failed to put`);
        for (const entry of result.Records ?? []) sequenceNumbers.push(entry.SequenceNumber!);
      }
      return sequenceNumbers;
    },
    async close() {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
