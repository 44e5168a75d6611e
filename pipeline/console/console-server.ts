import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { Logger } from 'pino';
import { ConfigFileError } from '../../schemas/config-file-error.ts';
import type { BackgroundService } from '../types/background-service.ts';
import type { Runtime } from '../runtime/create-runtime.ts';
import { AlbIdentityVerifier } from './auth/alb-identity.ts';
import { SessionCookies } from './auth/session-cookie.ts';
import { createConsoleApp } from './console-app.ts';
import type { ConsoleAuth } from './console-app.ts';
import { ConsoleAssets } from './console-assets.ts';
import { albRegion, loadConsoleSettings } from './console-settings.ts';
import type { ConsoleSettings } from './console-settings.ts';
import { EventLogReader } from './event-log.ts';

export interface ConsoleServerOptions {
  readonly runtime: Pick<Runtime, 'settings' | 'database' | 'catalog' | 'accounts' | 'sla'>;
  readonly settings: ConsoleSettings;
  readonly port: number;
  readonly logger: Logger;
  /** Overrides DRIFTWATCH_CONSOLE_HOST (the `--host` option). */
  readonly host?: string;
  /** Overrides DRIFTWATCH_CONSOLE_TOKEN (the demo makes one up). */
  readonly token?: string;
  readonly now?: () => number;
}

const Loopback = new Set(['127.0.0.1', '::1', 'localhost']);

/** Token sessions and/or the ALB header, from settings; neither configured is refused: the console shows security findings. */
export function consoleAuth(settings: ConsoleSettings, host: string, token?: string): ConsoleAuth {
  const secret = token ?? settings.DRIFTWATCH_CONSOLE_TOKEN;
  const albArn = settings.DRIFTWATCH_CONSOLE_ALB_ARN;
  if (!secret && !albArn) {
    throw new ConfigFileError('the console needs authentication: set DRIFTWATCH_CONSOLE_TOKEN (a long random secret), or DRIFTWATCH_CONSOLE_ALB_ARN behind an ALB with OIDC');
  }
  const alb = albArn
    ? new AlbIdentityVerifier({
        albArn,
        keys: settings.DRIFTWATCH_CONSOLE_ALB_KEY_FILE
          ? { file: settings.DRIFTWATCH_CONSOLE_ALB_KEY_FILE }
          : { baseUrl: settings.DRIFTWATCH_CONSOLE_ALB_KEY_URL ?? `https://public-keys.auth.elb.${albRegion(albArn)}.amazonaws.com` },
      })
    : null;
  const secureCookie = settings.DRIFTWATCH_CONSOLE_SECURE_COOKIE === 'auto' ? !Loopback.has(host) : settings.DRIFTWATCH_CONSOLE_SECURE_COOKIE === 'true';
  return { sessions: secret ? new SessionCookies(secret, settings.DRIFTWATCH_CONSOLE_SESSION_HOURS * 3_600_000) : null, alb, secureCookie };
}

/** The web console as a server: `driftwatch serve` runs it alone, `driftwatch run` beside the consumer. */
export class ConsoleServer implements BackgroundService {
  readonly name = 'console';
  readonly #server: Server;
  readonly #host: string;
  readonly #port: number;
  readonly #logger: Logger;
  readonly #eventLog: EventLogReader | null;
  #listening = false;

  private constructor(server: Server, host: string, port: number, logger: Logger, eventLog: EventLogReader | null) {
    this.#server = server;
    this.#host = host;
    this.#port = port;
    this.#logger = logger;
    this.#eventLog = eventLog;
  }

  static async create(options: ConsoleServerOptions): Promise<ConsoleServer> {
    const host = options.host ?? options.settings.DRIFTWATCH_CONSOLE_HOST;
    const logger = options.logger.child({ component: 'console' });
    const auth = consoleAuth(options.settings, host, options.token);
    const { runtime } = options;
    const eventLog = EventLogReader.fromSettings(runtime.settings);
    const app = createConsoleApp({
      db: runtime.database.db,
      catalog: runtime.catalog,
      accounts: runtime.accounts,
      timezone: runtime.sla.timezone,
      ...(runtime.settings.DRIFTWATCH_RUNBOOK_BASE_URL ? { runbookBaseUrl: runtime.settings.DRIFTWATCH_RUNBOOK_BASE_URL } : {}),
      auth,
      assets: await ConsoleAssets.load(),
      logger,
      eventLog,
      ...(options.now ? { now: options.now } : {}),
    });
    const server = createAdaptorServer({ fetch: app.fetch, hostname: host }) as Server;
    return new ConsoleServer(server, host, options.port, logger, eventLog);
  }

  /** For `driftwatch run`: the console when DRIFTWATCH_CONSOLE_PORT is set, else null. */
  static async forRun(env: NodeJS.ProcessEnv, runtime: ConsoleServerOptions['runtime'], logger: Logger): Promise<ConsoleServer | null> {
    const settings = loadConsoleSettings(env);
    if (settings.DRIFTWATCH_CONSOLE_PORT === undefined) return null;
    return ConsoleServer.create({ runtime, settings, port: settings.DRIFTWATCH_CONSOLE_PORT, logger });
  }

  /** http://host:port/ once listening (the port chosen by the system when 0 was asked). */
  get url(): string {
    const address = this.#server.address() as AddressInfo | null;
    const host = this.#host.includes(':') ? `[${this.#host}]` : this.#host;
    return `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${address?.port ?? this.#port}/`;
  }

  async listen(): Promise<void> {
    if (this.#listening) return;
    await new Promise<void>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        reject(new Error(`the console cannot listen on ${this.#host}:${this.#port}: ${error.code ?? error.message}`, { cause: error }));
      };
      this.#server.once('error', onError);
      this.#server.listen(this.#port, this.#host, () => {
        this.#server.off('error', onError);
        resolve();
      });
    });
    this.#listening = true;
    this.#logger.info({ url: this.url }, 'console listening');
  }

  async run(signal: AbortSignal): Promise<void> {
    await this.listen();
    if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    await this.close();
  }

  async close(): Promise<void> {
    if (this.#listening) {
      this.#listening = false;
      const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      // Browsers keep connections alive; without this, close() would wait for them to time out.
      this.#server.closeAllConnections();
      await closed;
    }
    await this.#eventLog?.close();
  }
}
