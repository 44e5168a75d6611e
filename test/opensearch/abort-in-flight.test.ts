import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../../pipeline/config/load-settings.ts';
import { createOpenSearchSink } from '../../pipeline/sinks/opensearch/create-opensearch-sink.ts';
import { createSyntheticOrg } from '../../pipeline/demo/synthetic-org.ts';
import { trackedEventsOf } from './support/tracked-events.ts';

const logger = pino({ level: 'silent' });

/**
 * Stopping while a request is in flight (SIGTERM, a lost lease, --until-caught-up ending) aborts it. The abort
 * listeners used to return the request, a thenable: Node rethrows the rejection of a thenable returned by an
 * AbortSignal listener as an uncaught exception, so `driftwatch run` crashed instead of stopping. Here OpenSearch
 * never answers; an uncaught exception would fail this file.
 */
describe('aborting an OpenSearch request in flight', () => {
  let server: Server;
  let url: string;
  const hanging = new Set<ServerResponse>();
  let arrived!: () => void;
  let requestArrived = new Promise<void>((resolve) => (arrived = resolve));

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      // Templates exist (so the sink goes straight to _bulk); every other request hangs until the test ends.
      if (req.method === 'HEAD') {
        res.writeHead(200).end();
        return;
      }
      hanging.add(res);
      arrived();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const res of hanging) res.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const nextRequest = () => {
    requestArrived = new Promise<void>((resolve) => (arrived = resolve));
    return requestArrived;
  };

  it('the sink answers a retriable error and nothing is thrown', async () => {
    const sink = (await createOpenSearchSink(loadSettings({ OPENSEARCH_URL: url }), logger))!;
    const items = await trackedEventsOf(createSyntheticOrg({ accounts: 10, seed: 1 }), { deliveries: 20, seed: 2 });
    const controller = new AbortController();
    const arrival = nextRequest();
    const write = sink.write({ shardId: 'shardId-000000000000', items }, controller.signal);
    await arrival;
    controller.abort(new Error('shard stopping'));
    const outcome = await write;
    expect(outcome.status).toBe('errored');
    expect(outcome.status === 'errored' && outcome.retriable).toBe(true);
    // Give Node the ticks in which the rethrown rejection used to surface.
    await new Promise((r) => setTimeout(r, 50));
    await sink.close();
  });

  it('the healthcheck rejects with a secret-free error and nothing else is thrown', async () => {
    const sink = (await createOpenSearchSink(loadSettings({ OPENSEARCH_URL: url }), logger))!;
    const controller = new AbortController();
    const arrival = nextRequest();
    const check = sink.healthcheck(controller.signal);
    await arrival;
    controller.abort(new Error('stopping'));
    await expect(check).rejects.toThrow(/aborted/i);
    await new Promise((r) => setTimeout(r, 50));
    await sink.close();
  });
});
