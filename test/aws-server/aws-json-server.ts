import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * An operation of an AWS JSON 1.0/1.1 service: the request body in, the response body out. Throw an
 * `AwsServiceError` to answer with an AWS error shape (the SDK turns it into a typed exception).
 */
export type AwsOperation = (input: Record<string, unknown>, call: AwsCall) => unknown | Promise<unknown>;

/** One service behind the server, addressed by the `X-Amz-Target` prefix its SDK client sends. */
export interface AwsJsonService {
  /** e.g. `Firehose_20150804`, `StarlingDoveService` (Config), `AWSOrganizationsV20161128`. */
  readonly targetPrefix: string;
  /** `application/x-amz-json-1.1` for most services, `1.0` for a few. */
  readonly jsonVersion?: '1.0' | '1.1';
  readonly operations: Readonly<Record<string, AwsOperation>>;
}

export interface AwsCall {
  readonly service: string;
  readonly operation: string;
  readonly input: Record<string, unknown>;
  readonly at: number;
  /** The error code the server answered with, when it did. */
  error?: string;
}

/** An error as AWS sends it: `{"__type": code, "message": ...}` with an HTTP status. */
export class AwsServiceError extends Error {
  override readonly name = 'AwsServiceError';
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** Codes the SDK's retry strategy treats as throttling, per service family. */
export const ThrottlingCodes = ['ThrottlingException', 'TooManyRequestsException', 'LimitExceededException'] as const;

export interface FaultRule {
  /** `Service.Operation`, `Operation`, or undefined for every call. */
  readonly operation?: string;
  readonly code: string;
  readonly message?: string;
  readonly status?: number;
  /** How many matching calls fail (default 1). */
  readonly count?: number;
}

interface PendingFault extends FaultRule {
  remaining: number;
}

/**
 * A local server speaking the AWS JSON protocol (`POST /` with `X-Amz-Target: <prefix>.<Operation>`), for tests and
 * benchmarks that call AWS through the real SDK clients with an endpoint override. Fault injection: queued failures
 * (`failNext`), a throttling burst (`throttle`), and latency. Every call is recorded.
 *
 * @example
 * const server = await AwsJsonServer.start([{ targetPrefix: 'Firehose_20150804', operations: { PutRecordBatch } }]);
 * const firehose = new FirehoseClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: TestCredentials });
 * server.failNext({ operation: 'PutRecordBatch', code: 'ServiceUnavailableException', status: 503 });
 */
export class AwsJsonServer {
  readonly endpoint: string;
  readonly calls: AwsCall[] = [];
  readonly #server: Server;
  readonly #services: Map<string, AwsJsonService>;
  #faults: PendingFault[] = [];
  #latencyMs = 0;

  private constructor(server: Server, services: Map<string, AwsJsonService>) {
    this.#server = server;
    this.#services = services;
    const { port } = server.address() as AddressInfo;
    this.endpoint = `http://127.0.0.1:${port}`;
  }

  static async start(services: readonly AwsJsonService[], options: { port?: number } = {}): Promise<AwsJsonServer> {
    const byPrefix = new Map(services.map((service) => [service.targetPrefix, service]));
    let instance: AwsJsonServer | undefined;
    const server = createServer((request, response) => {
      void instance!.#handle(request, response);
    });
    server.keepAliveTimeout = 1_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    instance = new AwsJsonServer(server, byPrefix);
    return instance;
  }

  /** The next `count` calls matching `operation` fail with `code`. */
  failNext(rule: FaultRule): void {
    const count = rule.count ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`);
    this.#faults.push({ ...rule, remaining: count });
  }

  /** A throttling burst: the next `count` calls of `operation` answer `code` (ThrottlingException by default). */
  throttle(count: number, operation?: string, code: string = 'ThrottlingException'): void {
    this.failNext({ code, count, message: 'Rate exceeded', ...(operation === undefined ? {} : { operation }) });
  }

  clearFaults(): void {
    this.#faults = [];
  }

  setLatency(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`latency must be >= 0, got ${ms}`);
    this.#latencyMs = ms;
  }

  /** Calls of one operation (`Operation` or `Service.Operation`), in arrival order. */
  callsOf(operation: string): AwsCall[] {
    return this.calls.filter((call) => matches(operation, call.service, call.operation));
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const target = request.headers['x-amz-target'];
    const [prefix = '', operation = ''] = typeof target === 'string' ? target.split('.') : [];
    const service = this.#services.get(prefix);
    const contentType = `application/x-amz-json-${service?.jsonVersion ?? '1.1'}`;
    const send = (status: number, payload: unknown, errorCode?: string) => {
      const text = JSON.stringify(payload);
      response.writeHead(status, {
        'content-type': contentType,
        'content-length': Buffer.byteLength(text),
        'x-amzn-requestid': `req-${this.calls.length}`,
        ...(errorCode ? { 'x-amzn-errortype': errorCode } : {}),
      });
      response.end(text);
    };
    if (request.method !== 'POST' || !service) {
      send(400, { __type: 'UnknownOperationException', message: `unknown target ${String(target)}` }, 'UnknownOperationException');
      return;
    }
    let input: Record<string, unknown>;
    try {
      input = body.length === 0 ? {} : (JSON.parse(body.toString('utf8')) as Record<string, unknown>);
    } catch {
      send(400, { __type: 'SerializationException', message: 'request body is not JSON' }, 'SerializationException');
      return;
    }
    const call: AwsCall = { service: prefix, operation, input, at: Date.now() };
    this.calls.push(call);
    if (this.#latencyMs > 0) await sleep(this.#latencyMs);
    const fault = this.#takeFault(prefix, operation);
    if (fault) {
      call.error = fault.code;
      send(fault.status ?? 400, { __type: fault.code, message: fault.message ?? `injected ${fault.code}` }, fault.code);
      return;
    }
    const handler = service.operations[operation];
    if (!handler) {
      call.error = 'UnknownOperationException';
      send(400, { __type: 'UnknownOperationException', message: `${prefix}.${operation} is not served` }, 'UnknownOperationException');
      return;
    }
    try {
      send(200, (await handler(input, call)) ?? {});
    } catch (error) {
      if (error instanceof AwsServiceError) {
        call.error = error.code;
        send(error.status, { __type: error.code, message: error.message }, error.code);
      } else {
        call.error = 'InternalFailure';
        send(500, { __type: 'InternalFailure', message: (error as Error).message }, 'InternalFailure');
      }
    }
  }

  #takeFault(service: string, operation: string): PendingFault | undefined {
    const index = this.#faults.findIndex((fault) => fault.operation === undefined || matches(fault.operation, service, operation));
    if (index < 0) return undefined;
    const fault = this.#faults[index]!;
    if (--fault.remaining <= 0) this.#faults.splice(index, 1);
    return fault;
  }
}

/** Credentials for SDK clients pointed at a local server (never real ones). */
export const TestCredentials = { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret' } as const;

function matches(pattern: string, service: string, operation: string): boolean {
  return pattern === operation || pattern === `${service}.${operation}`;
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Pages `items` the way AWS list calls do: an opaque NextToken, `limit` per page. */
export function paginate<T>(items: readonly T[], nextToken: unknown, limit: number): { page: T[]; nextToken?: string } {
  const start = typeof nextToken === 'string' && nextToken !== '' ? decodeToken(nextToken) : 0;
  const page = items.slice(start, start + limit);
  const next = start + limit;
  return next < items.length ? { page, nextToken: pageToken(next) } : { page };
}

/** The opaque NextToken `paginate` reads back as "continue at item `start`". */
export function pageToken(start: number): string {
  return Buffer.from(`page:${start}`).toString('base64url');
}

function decodeToken(token: string): number {
  const text = Buffer.from(token, 'base64url').toString('utf8');
  const match = /^page:(\d+)$/.exec(text);
  if (!match) throw new AwsServiceError('InvalidNextTokenException', 'The nextToken provided is invalid');
  return Number(match[1]);
}
