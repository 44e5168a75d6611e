import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { BackgroundService } from '../types/background-service.ts';
import type { Runtime } from '../runtime/create-runtime.ts';
import { applyAccountEffects } from './account-effects.ts';
import { syncAccounts } from './accounts-sync.ts';
import { createOrganizationsClient, tagKeysOf } from './organizations-client.ts';

/**
 * The registry inside `driftwatch run`: with DRIFTWATCH_ACCOUNTS_SYNC, a sync from Organizations every
 * DRIFTWATCH_ACCOUNTS_SYNC_INTERVAL_MS (workers take turns: a sync another one just made is skipped); on every worker,
 * a refresh from Postgres + file every DRIFTWATCH_SCHEDULE_INTERVAL_MS, so all of them enrich with the same registry,
 * followed by the findings' catch-up with it (out-of-scope resolution, new owners).
 */
export function createAccountsService(runtime: Pick<Runtime, 'settings' | 'database' | 'accounts' | 'catalog' | 'createProcessor' | 'accountSource'>, logger: Logger): BackgroundService {
  const settings = runtime.settings;
  const log = logger.child({ job: 'accounts' });
  return {
    name: 'accounts',
    async run(signal: AbortSignal): Promise<void> {
      const client = settings.DRIFTWATCH_ACCOUNTS_SYNC ? createOrganizationsClient(settings) : null;
      let nextSync = 0;
      try {
        while (!signal.aborted) {
          try {
            if (client && Date.now() >= nextSync) {
              nextSync = Date.now() + settings.DRIFTWATCH_ACCOUNTS_SYNC_INTERVAL_MS;
              await syncAccounts({ runtime, client, tagKeys: tagKeysOf(settings), logger, minIntervalMs: settings.DRIFTWATCH_ACCOUNTS_SYNC_INTERVAL_MS / 2 }, signal);
            } else {
              await runtime.accountSource.refresh();
              await applyAccountEffects(runtime, signal, log);
            }
          } catch (error) {
            if (signal.aborted) return;
            log.error({ err: error }, 'accounts sync or refresh failed; the registry in force stays');
          }
          await sleep(settings.DRIFTWATCH_SCHEDULE_INTERVAL_MS, undefined, { signal }).catch(() => undefined);
        }
      } finally {
        client?.destroy();
      }
    },
  };
}
