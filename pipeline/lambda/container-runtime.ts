import type { Logger } from 'pino';
import { loadSettings } from '../config/load-settings.ts';
import { createLogger } from '../logging/create-logger.ts';
import { createRuntime } from '../runtime/create-runtime.ts';
import { resolveSecrets } from './resolve-secrets.ts';
import type { Runtime, RuntimeOptions } from '../runtime/create-runtime.ts';

/**
 * Settings of a Lambda container: the function's environment, with a smaller Postgres pool by default (a container
 * runs one invocation at a time; many containers share the database, so put RDS Proxy or PgBouncer in front).
 */
export const LambdaDefaults: Readonly<Record<string, string>> = { DATABASE_POOL_SIZE: '2' };

export class LambdaConfigError extends Error {
  override readonly name = 'LambdaConfigError';
}

export interface ContainerRuntimeOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Runtime options (tests pass their own sinks). */
  readonly runtime?: RuntimeOptions;
  readonly logger?: Logger;
}

/**
 * The runtime of one Lambda container, built on the first invocation and reused by the next ones (Postgres pool,
 * sinks' HTTP connections, catalogs). A failed build is not cached: the next invocation tries again.
 */
export class ContainerRuntime {
  readonly #options: ContainerRuntimeOptions;
  #runtime: Promise<Runtime> | undefined;
  #logger: Logger | undefined;

  constructor(options: ContainerRuntimeOptions = {}) {
    this.#options = options;
  }

  get logger(): Logger {
    this.#logger ??= this.#options.logger ?? createLogger((this.#options.env ?? process.env).LOG_LEVEL ?? 'info');
    return this.#logger;
  }

  get(): Promise<Runtime> {
    this.#runtime ??= this.#build().catch((error: unknown) => {
      this.#runtime = undefined;
      throw error;
    });
    return this.#runtime;
  }

  async close(): Promise<void> {
    const runtime = await this.#runtime?.catch(() => undefined);
    this.#runtime = undefined;
    await runtime?.close();
  }

  async #build(): Promise<Runtime> {
    const source = this.#options.env ?? process.env;
    // Secrets named by DRIFTWATCH_SECRETS land in the process environment, where node-postgres and the settings read them.
    await resolveSecrets(source);
    const env = { ...LambdaDefaults, ...source };
    const settings = loadSettings(env);
    // The embedded database would live and die with one container: state must be shared and durable.
    if (!settings.DATABASE_URL) throw new LambdaConfigError('DATABASE_URL is required in Lambda (the embedded database is for the demo only)');
    // Like `run`, the consumer brings its schema up to date at start (kysely's lock keeps concurrent cold starts safe).
    return createRuntime(settings, this.logger, { migrate: true, ...this.#options.runtime });
  }
}
