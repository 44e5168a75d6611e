import { randomUUID } from 'node:crypto';
import { AwsJsonServer, AwsServiceError } from '../aws-json-server.ts';
import type { AwsJsonService } from '../aws-json-server.ts';

/** PutRecordBatch's quotas, enforced as Firehose does (a request over them is refused whole). */
export const FirehoseQuotas = { recordsPerCall: 500, bytesPerCall: 4 * 1_048_576, bytesPerRecord: 1_000 * 1_024 } as const;

export type DeliveryStreamStatus = 'CREATING' | 'CREATING_FAILED' | 'DELETING' | 'DELETING_FAILED' | 'ACTIVE';

/** A per-record failure Firehose reports inside a successful PutRecordBatch (FailedPutCount > 0). */
export interface RecordFault {
  /** Which records fail: those whose bytes contain this text, or (undefined) any record. */
  readonly matching?: string;
  readonly code?: 'ServiceUnavailableException' | 'InternalFailure';
  /** How many records this fault fails before it is used up. */
  readonly count: number;
}

interface StreamState {
  status: DeliveryStreamStatus;
  readonly records: Buffer[];
  readonly createdAt: Date;
}

/**
 * An Amazon Data Firehose stand-in on the AWS JSON protocol core (`Firehose_20150804.*`), for tests through the real
 * `@aws-sdk/client-firehose` with an endpoint override: PutRecordBatch with partial failures per record
 * (`FailedPutCount`, per-record `ErrorCode`), the quotas, DescribeDeliveryStream (healthchecks), Create/List, and the
 * core's throttling (`throttle()` answers ServiceUnavailableException "Slow down.", as Firehose does).
 */
export class LocalFirehose {
  readonly server: AwsJsonServer;
  readonly #streams: Map<string, StreamState>;
  readonly #recordFaults: (RecordFault & { remaining: number })[];

  private constructor(server: AwsJsonServer, streams: Map<string, StreamState>, faults: (RecordFault & { remaining: number })[]) {
    this.server = server;
    this.#streams = streams;
    this.#recordFaults = faults;
  }

  static async start(options: { streams?: readonly string[] } = {}): Promise<LocalFirehose> {
    const streams = new Map<string, StreamState>();
    for (const name of options.streams ?? []) streams.set(name, { status: 'ACTIVE', records: [], createdAt: new Date() });
    const faults: (RecordFault & { remaining: number })[] = [];
    const server = await AwsJsonServer.start([firehoseService(streams, faults)]);
    return new LocalFirehose(server, streams, faults);
  }

  get endpoint(): string {
    return this.server.endpoint;
  }

  /** Records stored in a stream, in arrival order (what Firehose would buffer to S3). */
  records(stream: string): Buffer[] {
    return [...(this.#streams.get(stream)?.records ?? [])];
  }

  setStatus(stream: string, status: DeliveryStreamStatus): void {
    const state = this.#streams.get(stream);
    if (!state) throw new Error(`no stream ${stream}`);
    state.status = status;
  }

  /** The next `count` matching records fail inside an otherwise successful call. */
  failRecords(fault: RecordFault): void {
    this.#recordFaults.push({ ...fault, remaining: fault.count });
  }

  /** A throttling burst: the next `count` PutRecordBatch calls are refused whole. */
  throttle(count: number): void {
    this.server.failNext({ operation: 'PutRecordBatch', code: 'ServiceUnavailableException', message: 'Slow down.', status: 400, count });
  }

  async close(): Promise<void> {
    await this.server.close();
  }
}

function firehoseService(streams: Map<string, StreamState>, faults: (RecordFault & { remaining: number })[]): AwsJsonService {
  const stream = (input: Record<string, unknown>): [string, StreamState] => {
    const name = String(input.DeliveryStreamName ?? '');
    const state = streams.get(name);
    if (!state) throw new AwsServiceError('ResourceNotFoundException', `Firehose ${name} under account 123456789012 not found.`);
    return [name, state];
  };
  const takeFault = (data: Buffer): RecordFault | undefined => {
    const index = faults.findIndex((f) => f.matching === undefined || data.includes(f.matching));
    if (index < 0) return undefined;
    const fault = faults[index]!;
    if (--fault.remaining <= 0) faults.splice(index, 1);
    return fault;
  };
  return {
    targetPrefix: 'Firehose_20150804',
    jsonVersion: '1.1',
    operations: {
      CreateDeliveryStream: (input) => {
        const name = String(input.DeliveryStreamName ?? '');
        if (streams.has(name)) throw new AwsServiceError('ResourceInUseException', `Firehose ${name} under account 123456789012 already exists.`);
        streams.set(name, { status: 'ACTIVE', records: [], createdAt: new Date() });
        return { DeliveryStreamARN: `arn:aws:firehose:us-east-1:123456789012:deliverystream/${name}` };
      },
      ListDeliveryStreams: (input) => {
        const names = [...streams.keys()].sort();
        const after = typeof input.ExclusiveStartDeliveryStreamName === 'string' ? names.indexOf(input.ExclusiveStartDeliveryStreamName) + 1 : 0;
        const limit = Number(input.Limit ?? 10);
        return { DeliveryStreamNames: names.slice(after, after + limit), HasMoreDeliveryStreams: after + limit < names.length };
      },
      DescribeDeliveryStream: (input) => {
        const [name, state] = stream(input);
        return {
          DeliveryStreamDescription: {
            DeliveryStreamName: name,
            DeliveryStreamARN: `arn:aws:firehose:us-east-1:123456789012:deliverystream/${name}`,
            DeliveryStreamStatus: state.status,
            DeliveryStreamType: 'DirectPut',
            VersionId: '1',
            CreateTimestamp: state.createdAt.getTime() / 1_000,
            Destinations: [],
            HasMoreDestinations: false,
          },
        };
      },
      PutRecordBatch: (input) => {
        const [name, state] = stream(input);
        if (state.status !== 'ACTIVE') throw new AwsServiceError('ResourceNotFoundException', `Firehose ${name} is ${state.status}.`);
        const records = (input.Records as { Data?: string }[] | undefined) ?? [];
        if (records.length === 0 || records.length > FirehoseQuotas.recordsPerCall) {
          throw new AwsServiceError('ValidationException', `1 validation error detected: Value at 'records' failed to satisfy constraint: Member must have length between 1 and ${FirehoseQuotas.recordsPerCall}`);
        }
        const datas = records.map((r) => Buffer.from(r.Data ?? '', 'base64'));
        const oversize = datas.findIndex((d) => d.length > FirehoseQuotas.bytesPerRecord || d.length === 0);
        if (oversize >= 0) {
          throw new AwsServiceError('ValidationException', `1 validation error detected: Value at 'records.${oversize + 1}.member.data' failed to satisfy constraint: Member must have length between 1 and ${FirehoseQuotas.bytesPerRecord}`);
        }
        const total = datas.reduce((sum, d) => sum + d.length, 0);
        if (total > FirehoseQuotas.bytesPerCall) throw new AwsServiceError('InvalidArgumentException', `Records size exceeds ${FirehoseQuotas.bytesPerCall} bytes.`);
        let failed = 0;
        const responses = datas.map((data) => {
          const fault = takeFault(data);
          if (fault) {
            failed++;
            const code = fault.code ?? 'ServiceUnavailableException';
            return { ErrorCode: code, ErrorMessage: code === 'InternalFailure' ? 'Internal service failure.' : 'Slow down.' };
          }
          state.records.push(data);
          return { RecordId: randomUUID().replace(/-/g, '') };
        });
        return { FailedPutCount: failed, Encrypted: false, RequestResponses: responses };
      },
    },
  };
}
