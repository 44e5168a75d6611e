import { Option } from 'commander';
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.ts';
import { withRuntime, writeJson } from '../cli-context.ts';
import { formatTable, isoOrNull } from '../output/format-table.ts';
import { MaxListLimit, wholeNumber } from '../parse-options.ts';
import type { Finding, FindingNaming } from '../../../stages/track/finding.ts';

const Statuses = ['open', 'resolved', 'all'] as const;
const Severities = ['Critical', 'High', 'Medium', 'Low'] as const;

/** The JSON contract of `findings --json`: one object per finding, stable field names. */
export interface FindingListItem extends Pick<Finding, FindingNaming> {
  readonly severity: string;
  readonly status: 'open' | 'resolved';
  readonly openedAt: string;
  readonly deadline: string | null;
  readonly overdue: boolean;
  readonly resolvedAt: string | null;
  readonly resolution: string | null;
  readonly owner: string;
  readonly environment: string;
  readonly excepted: boolean;
  readonly escalatedAt: string | null;
  readonly annotation: string | null;
}

export function registerFindingsCommand(program: Command, context: CliContext): void {
  program
    .command('findings')
    .description('list findings (episodes of non-compliance) from the state store')
    .addOption(new Option('--status <status>', 'which findings').choices(Statuses).default('open'))
    .addOption(new Option('--severity <severity>', 'only this severity').choices(Severities))
    .option('--account <id>', 'only this account')
    .option('--rule <name>', 'only this (normalized) rule')
    .option('--limit <n>', 'at most this many, newest first', wholeNumber(1, MaxListLimit), 1_000)
    .option('--json', 'print a JSON array')
    .action(async (options: { status: (typeof Statuses)[number]; severity?: string; account?: string; rule?: string; limit: number; json?: boolean }) => {
      await withRuntime(context, async (runtime) => {
        let filtered = runtime.database.db.selectFrom('findings');
        if (options.status !== 'all') filtered = filtered.where('status', '=', options.status);
        if (options.severity) filtered = filtered.where('severity', '=', options.severity);
        if (options.account) filtered = filtered.where('account_id', '=', options.account);
        if (options.rule) filtered = filtered.where('rule', '=', options.rule);
        const query = filtered.selectAll().orderBy('opened_at', 'desc').orderBy('finding_id').limit(options.limit);
        const now = Date.now();
        const items: FindingListItem[] = (await query.execute()).map((row) => ({
          findingId: row.finding_id,
          accountId: row.account_id,
          accountName: row.account_name,
          region: row.region,
          rule: row.rule,
          ruleTitle: row.rule_title,
          resourceType: row.resource_type,
          resourceId: row.resource_id,
          severity: row.severity,
          status: row.status,
          openedAt: row.opened_at.toISOString(),
          deadline: isoOrNull(row.deadline),
          overdue: row.deadline !== null && (row.resolved_at ?? new Date(now)).getTime() > row.deadline.getTime(),
          resolvedAt: isoOrNull(row.resolved_at),
          resolution: row.resolution,
          owner: row.owner,
          environment: row.environment,
          excepted: row.exception_id !== null,
          escalatedAt: isoOrNull(row.escalated_at),
          annotation: row.annotation,
        }));
        if (options.json) return writeJson(context, items);
        if (items.length === 0) return void context.stdout.write(`No ${options.status === 'all' ? '' : `${options.status} `}findings.\n`);
        context.stdout.write(
          formatTable(
            ['SEVERITY', 'STATUS', 'ACCOUNT', 'REGION', 'RULE', 'RESOURCE', 'OPENED', 'DEADLINE', 'OWNER'],
            items.map((f) => [
              f.severity,
              f.excepted ? `${f.status} (excepted)` : f.overdue && f.status === 'open' ? 'open OVERDUE' : f.status,
              f.accountName === f.accountId ? f.accountId : `${f.accountName} (${f.accountId})`,
              f.region,
              f.rule,
              `${f.resourceType} ${f.resourceId}`,
              f.openedAt.slice(0, 16).replace('T', ' '),
              f.deadline ? f.deadline.slice(0, 16).replace('T', ' ') : null,
              f.owner,
            ]),
          ),
        );
        const total = items.length < options.limit ? items.length : Number((await filtered.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);
        context.stdout.write(
          items.length < total
            ? `${items.length} of ${total} finding(s), newest first; ${total - items.length} more (--limit ${total} shows all).\n`
            : `${total} finding(s)\n`,
        );
      });
    });
}

/** A positive whole number up to the largest integer a JavaScript number holds exactly (ids, counts, seeds). */
export const parsePositiveInt = wholeNumber(1, Number.MAX_SAFE_INTEGER);
