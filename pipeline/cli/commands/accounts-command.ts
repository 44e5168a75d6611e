import { writeFile } from 'node:fs/promises';
import { Option } from 'commander';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import type { CliContext } from '../cli-context.ts';
import { withRuntime, writeJson } from '../cli-context.ts';
import { formatTable, isoOrNull } from '../output/format-table.ts';
import { AccountStore } from '../../accounts/account-store.ts';
import { loadAccountFile } from '../../config/load-account-file.ts';
import { createOrganizationsClient, tagKeysOf } from '../../accounts/organizations-client.ts';
import { syncAccounts } from '../../accounts/accounts-sync.ts';
import { stopOnSignals } from '../../runtime/stop-signal.ts';
import { createFindingFactsSync } from '../../sinks/opensearch/finding-facts-sync.ts';

/** The JSON contract of `accounts list --json`: the registry in force, with where each account's entry comes from. */
export interface AccountListItem {
  readonly id: string;
  readonly name: string;
  readonly environment: string;
  readonly owner: string;
  readonly slackChannel: string;
  /** ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED, REMOVED (no longer in the organization). */
  readonly status: string;
  readonly ouPath: string | null;
  /** organizations, file, or file-override (synced, and replaced by the file's entry). */
  readonly source: 'organizations' | 'file' | 'file-override';
  readonly lastSyncedAt: string | null;
}

export function registerAccountsCommand(program: Command, context: CliContext): void {
  const accounts = program.command('accounts').description('the account registry: synced from AWS Organizations, overridden per account by DRIFTWATCH_ACCOUNTS');

  accounts
    .command('sync')
    .description('read accounts, OU paths and tags from AWS Organizations, record changes, apply them to open findings')
    .option('--json', 'print the summary as JSON')
    .action(async (options: { json?: boolean }) => {
      const settings = context.settings();
      const client = createOrganizationsClient(settings);
      const stop = stopOnSignals(() => undefined);
      try {
        await withRuntime(context, async (runtime) => {
          if (!options.json) context.stderr.write('reading the organization (accounts, OU tree, tags)...\n');
          const summary = await syncAccounts({ runtime, client, tagKeys: tagKeysOf(settings), logger: context.logger() }, stop.signal);
          // New owners onto the OpenSearch finding documents now, rather than at the next `driftwatch run` pass.
          const factsSync = summary.reassigned > 0 ? createFindingFactsSync(runtime.settings, runtime.database.db, runtime.logger) : null;
          const opensearch = factsSync ? await factsSync.syncOnce(stop.signal).finally(() => factsSync.close()) : null;
          if (options.json) return writeJson(context, { ...summary, ...(opensearch ? { opensearch } : {}) });
          context.stdout.write(`${summary.accounts} account(s) listed, ${summary.changes.length} change(s) recorded (sync ${summary.syncId})\n`);
          for (const change of summary.changes) {
            context.stdout.write(
              change.field === 'added'
                ? `  + ${change.accountId} ${change.newValue}\n`
                : `  ~ ${change.accountId} ${change.field}: ${change.oldValue ?? '-'} -> ${change.newValue ?? '-'}\n`,
            );
          }
          context.stdout.write(
            `${summary.resolvedOutOfScope} finding(s) resolved out of scope, ${summary.reopenedInScope} opened again in scope, ${summary.reassigned} open finding(s) given a new owner/channel\n`,
          );
          if (opensearch) context.stdout.write(`OpenSearch: ${opensearch.synced} finding document(s) updated${opensearch.failed > 0 ? `, ${opensearch.failed} left for the next pass` : ''}\n`);
          if (summary.throttled > 0) context.stdout.write(`${summary.throttled} throttled call(s) waited and retried\n`);
        });
      } finally {
        client.destroy();
        stop.abort(); // removes the signal handlers
      }
    });

  accounts
    .command('list')
    .description('the registry in force: Organizations accounts under the file overrides')
    .option('--json', 'print a JSON array')
    .action(async (options: { json?: boolean }) => {
      await withRuntime(context, async (runtime) => {
        const [rows, file] = await Promise.all([new AccountStore(runtime.database.db).list(), loadAccountFile(context.settings().DRIFTWATCH_ACCOUNTS)]);
        const synced = new Map(rows.map((row) => [row.account_id, row]));
        const inFile = new Set(file.accounts.map((a) => a.id));
        const items: AccountListItem[] = runtime.accounts.accounts.map((a) => {
          const row = synced.get(a.id);
          return {
            id: a.id,
            name: a.name,
            environment: a.environment,
            owner: a.owner,
            slackChannel: a.slackChannel ?? file.defaults.slackChannel,
            status: a.status ?? 'ACTIVE',
            ouPath: row?.ou_path ?? null,
            source: inFile.has(a.id) ? (row ? 'file-override' : 'file') : 'organizations',
            lastSyncedAt: isoOrNull(row?.last_seen_at ?? null),
          };
        });
        if (options.json) return writeJson(context, items);
        if (items.length === 0) return void context.stdout.write('No accounts. Run `driftwatch accounts sync` or set DRIFTWATCH_ACCOUNTS.\n');
        context.stdout.write(
          formatTable(
            ['ACCOUNT', 'NAME', 'ENVIRONMENT', 'OWNER', 'CHANNEL', 'STATUS', 'OU', 'SOURCE'],
            items.map((a) => [a.id, a.name, a.environment, a.owner, a.slackChannel, a.status, a.ouPath, a.source]),
          ),
        );
        context.stdout.write(`${items.length} account(s)\n`);
      });
    });

  accounts
    .command('export')
    .description('write the registry in force as a registry file (the format of DRIFTWATCH_ACCOUNTS; the CDK app reads it)')
    .option('--output <file>', 'write to this file instead of stdout')
    .addOption(new Option('--format <format>', 'file format').choices(['yaml', 'json']).default('yaml'))
    .action(async (options: { output?: string; format: 'yaml' | 'json' }) => {
      await withRuntime(context, async (runtime) => {
        const file = await loadAccountFile(context.settings().DRIFTWATCH_ACCOUNTS);
        const registry = { defaults: file.defaults, accounts: runtime.accounts.accounts };
        const text = options.format === 'json' ? `${JSON.stringify(registry, null, 2)}\n` : stringify(registry);
        if (options.output) {
          await writeFile(options.output, text);
          context.stderr.write(`${registry.accounts.length} account(s) written to ${options.output}\n`);
        } else {
          context.stdout.write(text);
        }
      });
    });

  accounts
    .command('history')
    .description('every recorded change of synced accounts (time, field, old and new value)')
    .option('--account <id>', 'only this account')
    .option('--json', 'print a JSON array')
    .action(async (options: { account?: string; json?: boolean }) => {
      await withRuntime(context, async (runtime) => {
        const rows = await new AccountStore(runtime.database.db).history(options.account);
        const items = rows.map((r) => ({ at: new Date(r.changed_at).toISOString(), accountId: r.account_id, field: r.field, oldValue: r.old_value, newValue: r.new_value, syncId: r.sync_id }));
        if (options.json) return writeJson(context, items);
        if (items.length === 0) return void context.stdout.write('No changes recorded.\n');
        context.stdout.write(formatTable(['AT', 'ACCOUNT', 'FIELD', 'OLD', 'NEW'], items.map((i) => [i.at.slice(0, 19).replace('T', ' '), i.accountId, i.field, i.oldValue, i.newValue])));
      });
    });
}
