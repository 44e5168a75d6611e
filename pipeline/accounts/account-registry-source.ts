import type { Kysely } from 'kysely';
import { AccountRegistryFile } from '../../schemas/account-registry.ts';
import type { Account } from '../../schemas/account-registry.ts';
import type { AccountRegistry } from '../../stages/enrich/account-registry.ts';
import { loadAccountFile } from '../config/load-account-file.ts';
import type { Database } from '../store/database-schema.ts';
import { AccountStore } from './account-store.ts';
import type { AccountRow } from './account-store.ts';

/**
 * The registry the pipeline uses: accounts synced from Organizations, with the file's entry replacing an account's
 * synced one wholesale (a hand-written entry is a deliberate override), and the file's defaults for the rest.
 * Suspended, closed and removed accounts stay, marked by `status`.
 */
export function mergeRegistry(rows: readonly AccountRow[], file: AccountRegistryFile): AccountRegistryFile {
  const byId = new Map<string, Account>();
  for (const row of rows) {
    byId.set(row.account_id, {
      id: row.account_id,
      name: row.name,
      environment: Environment(row.environment),
      owner: row.owner ?? file.defaults.owner,
      ...(row.slack_channel ? { slackChannel: row.slack_channel } : {}),
      ...(row.state === 'ACTIVE' ? {} : { status: Status(row.state) }),
    });
  }
  for (const account of file.accounts) {
    const synced = byId.get(account.id);
    byId.set(account.id, { ...account, ...(synced?.status && !account.status ? { status: synced.status } : {}) });
  }
  return { defaults: file.defaults, accounts: [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) };
}

function Environment(value: string): Account['environment'] {
  return (['production', 'staging', 'development', 'sandbox'] as const).find((e) => e === value) ?? 'unknown';
}

function Status(value: string): NonNullable<Account['status']> {
  return (['SUSPENDED', 'PENDING_CLOSURE', 'CLOSED', 'REMOVED'] as const).find((s) => s === value) ?? 'ACTIVE';
}

/** Keeps a runtime's AccountRegistry equal to Postgres + file: at start, after a sync, and periodically on every worker. */
export class AccountRegistrySource {
  readonly #store: AccountStore;
  readonly #filePath: string | undefined;
  readonly #registry: AccountRegistry;

  constructor(db: Kysely<Database>, filePath: string | undefined, registry: AccountRegistry) {
    this.#store = new AccountStore(db);
    this.#filePath = filePath;
    this.#registry = registry;
  }

  /** Re-reads both sources (the file too, so an edit applies without a restart) and swaps the registry in. */
  async refresh(): Promise<AccountRegistryFile> {
    const [rows, file] = await Promise.all([this.#store.list(), loadAccountFile(this.#filePath)]);
    const merged = mergeRegistry(rows, file);
    this.#registry.replace(merged);
    return merged;
  }
}
