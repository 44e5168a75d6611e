import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { BackgroundService } from '../types/background-service.ts';
import type { PipelineMetrics } from './pipeline-metrics.ts';

export interface HealthReport {
  readonly healthy: boolean;
  readonly [detail: string]: unknown;
}

export interface MetricsServerOptions {
  readonly port: number;
  /** Default 127.0.0.1: metrics and health details stay on the machine unless DRIFTWATCH_METRICS_HOST says otherwise. */
  readonly host?: string;
  readonly metrics: PipelineMetrics;
  readonly health: () => Promise<HealthReport>;
  /** Refreshes gauges that are read from the database (outbox depth) before each scrape. */
  readonly beforeScrape?: () => Promise<void>;
  readonly logger: Logger;
}

/** GET /metrics (Prometheus text) and GET /healthz (200 or 503 with a JSON body) for `driftwatch run`. */
export class MetricsServer implements BackgroundService {
  readonly name = 'metrics-server';
  readonly #o: MetricsServerOptions;
  #server: Server | undefined;

  constructor(options: MetricsServerOptions) {
    this.#o = options;
  }

  get port(): number | undefined {
    return (this.#server?.address() as AddressInfo | null)?.port;
  }

  async listen(): Promise<void> {
    const server = createServer((request, response) => {
      void this.#handle(request.url ?? '/').then(
        ({ status, type, body }) => response.writeHead(status, { 'content-type': type }).end(body),
        (error: unknown) => {
          this.#o.logger.warn({ err: error }, 'metrics request failed');
          response.writeHead(500, { 'content-type': 'text/plain' }).end('internal error\n');
        },
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#o.port, this.#o.host ?? '127.0.0.1', () => resolve());
    });
    this.#server = server;
    this.#o.logger.info({ host: this.#o.host ?? '127.0.0.1', port: this.port }, 'metrics server listening');
  }

  async run(signal: AbortSignal): Promise<void> {
    if (!this.#server) await this.listen();
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    await this.close();
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async #handle(url: string): Promise<{ status: number; type: string; body: string }> {
    const path = url.split('?')[0];
    if (path === '/metrics') {
      await this.#o.beforeScrape?.().catch((error: unknown) => this.#o.logger.warn({ err: error }, 'metrics refresh failed'));
      return { status: 200, type: this.#o.metrics.registry.contentType, body: await this.#o.metrics.registry.metrics() };
    }
    if (path === '/healthz') {
      const report = await this.#o.health();
      return { status: report.healthy ? 200 : 503, type: 'application/json', body: `${JSON.stringify(report)}\n` };
    }
    return { status: 404, type: 'text/plain', body: 'not found: try /metrics or /healthz\n' };
  }
}
