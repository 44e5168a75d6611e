import { Agent, createServer, request } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * An HTTP pass-through in front of the shared OpenSearch node whose "outage" can be switched on and off, so a test can
 * take OpenSearch away from one sink without stopping the node other test files use. While down, every connection
 * is reset (what a crashed node or a dropped load balancer looks like to the client).
 */
export class OutageProxy {
  readonly #server: Server;
  readonly #upstream: URL;
  readonly #agent = new Agent({ keepAlive: true });
  readonly #sockets = new Set<Socket>();
  #down = false;
  #downAfterBulks: number | undefined;
  /** `_bulk` requests forwarded while up. */
  bulksPassed = 0;
  /** Requests refused while down. */
  refused = 0;

  private constructor(upstream: string) {
    this.#upstream = new URL(upstream);
    this.#server = createServer((req, res) => {
      if (this.#down) {
        this.refused++;
        req.socket.destroy();
        return;
      }
      const isBulk = (req.url ?? '').includes('_bulk');
      const forward = request(
        { host: this.#upstream.hostname, port: this.#upstream.port, method: req.method, path: req.url, headers: req.headers, agent: this.#agent },
        (upstreamRes) => {
          res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
          upstreamRes.pipe(res);
          if (isBulk) {
            this.bulksPassed++;
            if (this.#downAfterBulks !== undefined && this.bulksPassed >= this.#downAfterBulks) {
              this.#downAfterBulks = undefined;
              // The response of this one still arrives; everything after it finds the node gone.
              upstreamRes.once('end', () => this.down());
            }
          }
        },
      );
      forward.on('error', () => res.destroy());
      req.pipe(forward);
    });
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
  }

  static async start(upstream: string): Promise<OutageProxy> {
    const proxy = new OutageProxy(upstream);
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', () => resolve()));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  get isDown(): boolean {
    return this.#down;
  }

  /** Goes down right after the n-th `_bulk` request from now has been answered. */
  downAfterBulks(n: number): void {
    this.#downAfterBulks = this.bulksPassed + n;
  }

  down(): void {
    this.#down = true;
    for (const socket of this.#sockets) socket.destroy();
  }

  up(): void {
    this.#down = false;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    this.#agent.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** Polls `condition` until true (a condition, not a deadline: the timeout only bounds a broken test). */
export async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs = 30_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
