import { createServer, request } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A Kinesis API action as the SDK names it in X-Amz-Target (`Kinesis_20131202.<Action>`). */
export type KinesisAction = 'ListShards' | 'DescribeStreamSummary' | 'GetShardIterator' | 'GetRecords' | 'PutRecords' | (string & {});

type Fault = { readonly kind: 'hang' } | { readonly kind: 'error'; readonly status: number; readonly type: string; readonly message: string };

/**
 * An HTTP proxy in front of kinesalite that speaks the same AWS JSON 1.1 protocol and can misbehave per action: hang
 * a call (never answer), fail it with an AWS error, or make a shard look expired past retention (gone from
 * ListShards, ResourceNotFoundException on GetShardIterator) as Kinesis does. Everything else passes through.
 */
export class KinesisProxy {
  readonly #server: Server;
  readonly #target: URL;
  readonly #faults = new Map<string, Fault>();
  readonly #expired = new Set<string>();
  readonly #hung = new Set<ServerResponse>();
  /** Calls per action, faulty ones included. */
  readonly calls = new Map<string, number>();

  private constructor(target: string) {
    this.#target = new URL(target);
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch(() => res.destroy());
    });
  }

  static async start(target: string): Promise<KinesisProxy> {
    const proxy = new KinesisProxy(target);
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', () => resolve()));
    return proxy;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Every later call of `action` is never answered (until `clear`). */
  hang(action: KinesisAction): void {
    this.#faults.set(action, { kind: 'hang' });
  }

  /** Every later call of `action` fails with this AWS error (default: a 500 InternalFailure). */
  fail(action: KinesisAction, error: { status?: number; type?: string; message?: string } = {}): void {
    this.#faults.set(action, { kind: 'error', status: error.status ?? 500, type: error.type ?? 'InternalFailure', message: error.message ?? 'injected failure' });
  }

  /** The shard's records are past retention: ListShards no longer lists it and GetShardIterator does not find it. */
  expireShard(shardId: string): void {
    this.#expired.add(shardId);
  }

  /** Removes the faults; calls hanging so far are answered with a 500. */
  clear(): void {
    this.#faults.clear();
    for (const res of this.#hung) awsError(res, 500, 'InternalFailure', 'released');
    this.#hung.clear();
  }

  async close(): Promise<void> {
    for (const res of this.#hung) res.destroy();
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const action = String(req.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
    this.calls.set(action, (this.calls.get(action) ?? 0) + 1);
    const fault = this.#faults.get(action);
    if (fault?.kind === 'hang') {
      this.#hung.add(res);
      res.on('close', () => this.#hung.delete(res));
      return;
    }
    if (fault?.kind === 'error') return awsError(res, fault.status, fault.type, fault.message);
    if (action === 'GetShardIterator') {
      const shardId = (JSON.parse(body.toString('utf8')) as { ShardId?: string }).ShardId;
      if (shardId && this.#expired.has(shardId)) return awsError(res, 400, 'ResourceNotFoundException', `Shard ${shardId} in stream under account 000000000000 does not exist`);
    }
    const upstream = await this.#forward(req, body);
    let payload = upstream.body;
    if ((action === 'ListShards' || action === 'DescribeStream') && upstream.status === 200 && this.#expired.size > 0) {
      const parsed = JSON.parse(payload.toString('utf8')) as { Shards?: { ShardId: string }[]; StreamDescription?: { Shards?: { ShardId: string }[] } };
      const keep = (shards?: { ShardId: string }[]) => shards?.filter((shard) => !this.#expired.has(shard.ShardId));
      if (parsed.Shards) parsed.Shards = keep(parsed.Shards)!;
      if (parsed.StreamDescription?.Shards) parsed.StreamDescription.Shards = keep(parsed.StreamDescription.Shards)!;
      payload = Buffer.from(JSON.stringify(parsed));
    }
    res.writeHead(upstream.status, { 'content-type': upstream.contentType, 'content-length': payload.length });
    res.end(payload);
  }

  #forward(req: IncomingMessage, body: Buffer): Promise<{ status: number; contentType: string; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const headers = { ...req.headers, host: this.#target.host, 'content-length': String(body.length) };
      const upstream = request({ hostname: this.#target.hostname, port: this.#target.port, path: req.url, method: req.method, headers }, (response) => {
        readBody(response).then((data) => resolve({ status: response.statusCode ?? 500, contentType: String(response.headers['content-type'] ?? 'application/x-amz-json-1.1'), body: data }), reject);
      });
      upstream.on('error', reject);
      upstream.end(body);
    });
  }
}

function awsError(res: ServerResponse, status: number, type: string, message: string): void {
  const payload = Buffer.from(JSON.stringify({ __type: type, message }));
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'content-length': payload.length, 'x-amzn-errortype': type });
  res.end(payload);
}

async function readBody(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}
