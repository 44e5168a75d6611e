import { Migrator } from 'kysely';
import type { Kysely, Migration, MigrationProvider, MigrationResultSet } from 'kysely';
import * as stateStore from './migrations/0001-state-store.ts';
import * as slackNotifier from './migrations/0002-slack-notifier.ts';
import * as slaExceptionsReport from './migrations/0003-sla-exceptions-report.ts';
import * as findingFactsSync from './migrations/0004-finding-facts-sync.ts';
import * as unambiguousKeys from './migrations/0005-unambiguous-keys.ts';
import * as streamIdentityAndClaims from './migrations/0006-stream-identity-and-claims.ts';
import * as accountsAndReconcile from './migrations/0007-accounts-and-reconcile.ts';
import * as consoleIndexes from './migrations/0008-console-indexes.ts';
import * as findingFactsClaims from './migrations/0009-finding-facts-claims.ts';

/** Migrations are compiled in (no file-system scan), so the CLI works from any directory and in bundles. */
export const Migrations: Record<string, Migration> = {
  '0001-state-store': stateStore,
  '0002-slack-notifier': slackNotifier,
  '0003-sla-exceptions-report': slaExceptionsReport,
  '0004-finding-facts-sync': findingFactsSync,
  '0005-unambiguous-keys': unambiguousKeys,
  '0006-stream-identity-and-claims': streamIdentityAndClaims,
  '0007-accounts-and-reconcile': accountsAndReconcile,
  '0008-console-indexes': consoleIndexes,
  '0009-finding-facts-claims': findingFactsClaims,
};

class InCodeMigrations implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return Migrations;
  }
}

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

/** Applies pending migrations; safe to run at every start and from several workers at once (kysely's lock table). */
export async function migrateToLatest(db: Kysely<any>): Promise<readonly string[]> {
  const migrator = new Migrator({ db, provider: new InCodeMigrations() });
  const result: MigrationResultSet = await migrator.migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new MigrationError(`migration ${failed} failed: ${(result.error as Error).message}`, { cause: result.error });
  }
  return (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
