import { randomBytes } from 'node:crypto';
import type { OrganizationsClient } from '@aws-sdk/client-organizations';
import type { Logger } from 'pino';
import type { Runtime } from '../runtime/create-runtime.ts';
import { applyAccountEffects } from './account-effects.ts';
import type { AccountEffects } from './account-effects.ts';
import { AccountStore } from './account-store.ts';
import type { AccountChange } from './account-store.ts';
import type { TagKeys } from './organization-account.ts';
import { readOrganization } from './read-organization.ts';

export interface AccountsSyncSummary extends AccountEffects {
  readonly syncId: string;
  readonly accounts: number;
  readonly changes: readonly AccountChange[];
  readonly skipped: boolean;
  /** Organizations calls that were throttled and waited. */
  readonly throttled: number;
}

export interface AccountsSyncOptions {
  readonly runtime: Pick<Runtime, 'database' | 'accounts' | 'catalog' | 'createProcessor' | 'accountSource'>;
  readonly client: OrganizationsClient;
  readonly tagKeys: TagKeys;
  readonly logger: Logger;
  /** Skip when another worker synced more recently than this (periodic sync inside `run`). */
  readonly minIntervalMs?: number;
}

/**
 * One sync: list the organization (accounts, OU paths, tags), record what changed, swap the registry the stages use,
 * then bring open findings in line with it (out-of-scope resolution, new owner/channel).
 */
export async function syncAccounts(options: AccountsSyncOptions, signal: AbortSignal): Promise<AccountsSyncSummary> {
  const logger = options.logger.child({ job: 'accounts-sync' });
  const startedAt = Date.now();
  const syncId = `sync-${new Date(startedAt).toISOString()}-${randomBytes(3).toString('hex')}`;
  let throttled = 0;
  const listed = await readOrganization(options.client, {
    signal,
    onRetry: (error, attempt, delayMs) => {
      throttled++;
      logger.warn({ error: error.name, attempt, delayMs }, 'organizations call retried');
    },
  });
  const result = await new AccountStore(options.runtime.database.db).applySync(listed, options.tagKeys, {
    syncId,
    startedAt,
    now: Date.now(),
    ...(options.minIntervalMs !== undefined ? { minIntervalMs: options.minIntervalMs } : {}),
  });
  await options.runtime.accountSource.refresh();
  const effects = await applyAccountEffects(options.runtime, signal, logger);
  logger.info({ syncId, accounts: result.accounts, changes: result.changes.length, skipped: result.skipped, throttled, ...effects }, 'accounts synced');
  return { ...result, ...effects, throttled };
}
