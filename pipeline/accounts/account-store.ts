import { sql } from 'kysely';
import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../store/database-schema.ts';
import type { AccountField, AccountTables, AccountsTable } from './account-tables.ts';
import type { OrganizationAccount, TagKeys } from './organization-account.ts';
import { taggedFields } from './organization-account.ts';

export type AccountRow = Selectable<AccountsTable>;

export interface AccountChange {
  readonly accountId: string;
  readonly field: AccountField | 'added';
  readonly oldValue: string | null;
  readonly newValue: string | null;
}

export interface SyncResult {
  readonly syncId: string;
  readonly accounts: number;
  readonly changes: readonly AccountChange[];
  /** True when another worker synced within `minIntervalMs` and this one did nothing. */
  readonly skipped: boolean;
}

const Fields: readonly AccountField[] = ['name', 'state', 'environment', 'owner', 'slack_channel', 'ou_path'];

/** The registry's rows in Postgres and their append-only change history. */
export class AccountStore {
  readonly #db: Kysely<Database & AccountTables>;

  constructor(db: Kysely<Database>) {
    this.#db = db.withTables<AccountTables>();
  }

  async list(): Promise<AccountRow[]> {
    return this.#db.selectFrom('accounts').selectAll().orderBy('account_id').execute();
  }

  async history(accountId?: string): Promise<Selectable<AccountTables['account_changes']>[]> {
    let query = this.#db.selectFrom('account_changes').selectAll().orderBy('id');
    if (accountId) query = query.where('account_id', '=', accountId);
    return query.execute();
  }

  /**
   * Applies one listing of the organization in one transaction: new accounts are added, changed fields recorded
   * (time, old, new) and updated, accounts no longer listed marked REMOVED (never deleted). Workers serialize on an
   * advisory lock, and a listing older than the last applied one is skipped, so each change is recorded once.
   */
  async applySync(listed: readonly OrganizationAccount[], tagKeys: TagKeys, options: { syncId: string; startedAt: number; now: number; minIntervalMs?: number }): Promise<SyncResult> {
    return this.#db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtext('driftwatch.accounts-sync'))`.execute(trx);
      const last = await trx.selectFrom('account_syncs').select((eb) => eb.fn.max('started_at').as('at')).executeTakeFirst();
      const lastAt = last?.at ? new Date(last.at as Date | string).getTime() : null;
      if (lastAt !== null && (lastAt >= options.startedAt || (options.minIntervalMs !== undefined && options.startedAt - lastAt < options.minIntervalMs))) {
        return { syncId: options.syncId, accounts: listed.length, changes: [], skipped: true };
      }
      const existing = new Map((await trx.selectFrom('accounts').selectAll().execute()).map((row) => [row.account_id, row]));
      const now = new Date(options.now);
      const changes: AccountChange[] = [];
      for (const account of listed) {
        const fields = taggedFields(account.tags, tagKeys);
        const next: Record<AccountField, string | null> = {
          name: account.name, state: account.state, environment: fields.environment, owner: fields.owner, slack_channel: fields.slackChannel, ou_path: account.ouPath,
        };
        const row = existing.get(account.id);
        existing.delete(account.id);
        if (!row) {
          changes.push({ accountId: account.id, field: 'added', oldValue: null, newValue: account.name });
        } else {
          for (const field of Fields) if ((row[field] ?? null) !== next[field]) changes.push({ accountId: account.id, field, oldValue: row[field] ?? null, newValue: next[field] });
        }
        const values = {
          name: account.name,
          email: account.email,
          state: account.state,
          environment: fields.environment,
          environment_tag: fields.environmentTag,
          owner: fields.owner,
          slack_channel: fields.slackChannel,
          ou_path: account.ouPath,
          tags: JSON.stringify(account.tags),
          joined_at: account.joinedAt === null ? null : new Date(account.joinedAt),
          last_seen_at: now,
          updated_at: now,
        };
        await trx
          .insertInto('accounts')
          .values({ account_id: account.id, first_seen_at: now, ...values })
          .onConflict((oc) => oc.column('account_id').doUpdateSet(values))
          .execute();
      }
      for (const row of existing.values()) {
        if (row.state === 'REMOVED') continue;
        changes.push({ accountId: row.account_id, field: 'state', oldValue: row.state, newValue: 'REMOVED' });
        await trx.updateTable('accounts').set({ state: 'REMOVED', updated_at: now }).where('account_id', '=', row.account_id).execute();
      }
      if (changes.length > 0) {
        await trx
          .insertInto('account_changes')
          .values(changes.map((c) => ({ sync_id: options.syncId, account_id: c.accountId, field: c.field, old_value: c.oldValue, new_value: c.newValue, changed_at: now })))
          .execute();
      }
      await trx
        .insertInto('account_syncs')
        .values({ sync_id: options.syncId, started_at: new Date(options.startedAt), finished_at: now, accounts: listed.length, changes: changes.length })
        .execute();
      return { syncId: options.syncId, accounts: listed.length, changes, skipped: false };
    });
  }
}
