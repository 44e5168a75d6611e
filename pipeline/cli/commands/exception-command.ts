import type { Command } from 'commander';
import type { CliContext } from '../cli-context.ts';
import { withRuntime, writeJson } from '../cli-context.ts';
import { formatTable } from '../output/format-table.ts';
import { printable } from '../output/printable.ts';
import { SystemClock } from '../../clock/clock.ts';
import { ExceptionStore } from '../../exceptions/exception-store.ts';
import type { AuditEntry, RiskExceptionView } from '../../exceptions/exception-store.ts';
import type { RiskException } from '../../exceptions/risk-exception.ts';
import { parseUntil } from '../../exceptions/parse-until.ts';
import type { SlaPolicy } from '../../../stages/track/sla-policy.ts';
import { DateTime } from 'luxon';
import { normalizeRuleName } from '../../../stages/enrich/normalize-rule-name.ts';

/** The JSON contract of `exception list --json` (and of add/revoke --json): ISO times, stable names. */
export interface ExceptionJson {
  readonly id: string;
  readonly status: RiskException['status'];
  readonly rule: string;
  readonly accountId: string | null;
  readonly resourceId: string | null;
  readonly until: string;
  readonly reason: string;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly revokedAt: string | null;
  readonly revokedBy: string | null;
  readonly revokeReason: string | null;
  readonly coveredOpenFindings?: number;
}

export function registerExceptionCommand(program: Command, context: CliContext): void {
  const exception = program.command('exception').description('risk exceptions: accepted risks that silence matching findings until they expire');

  exception
    .command('add')
    .description('accept a risk: matching findings alert and escalate nobody until the exception expires')
    .requiredOption('--rule <rule>', 'the rule (normalized name; OrgConfigRule-/conformance-pack names are normalized)')
    .option('--account <id>', 'only this account (default: every account)')
    .option('--resource <id>', 'only this resource id (default: every resource)')
    .requiredOption('--until <date>', 'YYYY-MM-DD (through the end of that day, SLA calendar timezone) or an ISO 8601 time')
    .requiredOption('--reason <text>', 'why the risk is accepted')
    .requiredOption('--by <who>', 'who accepts the risk')
    .option('--force', 'create it even when the rule or account is unknown (not in the catalog or registry, never evaluated)')
    .option('--json', 'print the exception as JSON')
    .action(async (options: { rule: string; account?: string; resource?: string; until: string; reason: string; by: string; force?: boolean; json?: boolean }) => {
      const rule = normalizeRuleName(options.rule.trim());
      if (rule === '') throw new Error('invalid --rule: it is empty');
      if (options.account !== undefined && !/^\d{12}$/.test(options.account)) throw new Error(`invalid --account "${options.account}": an AWS account id has 12 digits`);
      if (options.resource !== undefined && options.resource.trim() === '') throw new Error('invalid --resource: it is empty');
      if (options.reason.trim() === '') throw new Error('invalid --reason: it is empty');
      if (options.by.trim() === '') throw new Error('invalid --by: it is empty');
      await withRuntime(context, async (runtime) => {
        const clock = new SystemClock();
        const until = parseUntil(options.until, runtime.sla.timezone, clock.now());
        // A typo would silently cover nothing: a rule or account must be known (catalog or registry) or seen in an
        // evaluation; --force accepts one that is not (yet).
        const db = runtime.database.db;
        const ruleKnown = runtime.catalog.lookup(rule).known || (await db.selectFrom('evaluations').select('rule').where('rule', '=', rule).limit(1).executeTakeFirst()) !== undefined;
        const accountKnown =
          options.account === undefined ||
          runtime.accounts.lookup(options.account).known ||
          (await db.selectFrom('evaluations').select('account_id').where('account_id', '=', options.account).limit(1).executeTakeFirst()) !== undefined;
        const unknown = [...(ruleKnown ? [] : [`rule ${printable(rule)} is not in the rule catalog and no evaluation names it`]), ...(accountKnown ? [] : [`account ${options.account} is not in the account registry and has no evaluations`])];
        if (unknown.length > 0 && !options.force) throw new Error(`${unknown.join('; ')}: check the spelling, or pass --force to create the exception anyway`);
        for (const line of unknown) context.stderr.write(`note: ${line} (--force)\n`);
        const store = new ExceptionStore(runtime.database.db, clock);
        const { exception: added, covered } = await store.add({
          rule,
          ...(options.account ? { accountId: options.account } : {}),
          ...(options.resource ? { resourceId: options.resource.trim() } : {}),
          until,
          reason: options.reason,
          by: options.by,
        });
        if (options.json) return writeJson(context, { ...toJson(added), coveredOpenFindings: covered });
        context.stdout.write(
          `Added risk exception ${added.id}: ${describeScope(added)}, until ${formatUntil(added.until, runtime.sla)}; ` +
            `it covers ${covered} open finding(s) now.\n`,
        );
      });
    });

  exception
    .command('list')
    .description('risk exceptions in force (with --all: also expired and revoked ones)')
    .option('--all', 'include expired and revoked exceptions')
    .option('--json', 'print a JSON array')
    .action(async (options: { all?: boolean; json?: boolean }) => {
      await withRuntime(context, async (runtime) => {
        const list = await new ExceptionStore(runtime.database.db, new SystemClock()).list({ all: options.all ?? false });
        if (options.json) return writeJson(context, list.map((e) => ({ ...toJson(e), coveredOpenFindings: e.coveredOpenFindings })));
        if (list.length === 0) return void context.stdout.write(options.all ? 'No risk exceptions.\n' : 'No risk exceptions in force.\n');
        context.stdout.write(
          formatTable(
            ['ID', 'STATUS', 'RULE', 'ACCOUNT', 'RESOURCE', 'UNTIL', 'BY', 'COVERED', 'REASON'],
            list.map((e: RiskExceptionView) => [
              e.id,
              e.status,
              e.rule,
              e.accountId ?? '(all)',
              e.resourceId ?? '(all)',
              formatUntil(e.until, runtime.sla),
              e.createdBy,
              e.coveredOpenFindings,
              e.reason,
            ]),
          ),
        );
      });
    });

  exception
    .command('revoke')
    .description('end a risk exception now: its open findings are live again and alert')
    .argument('<id>', 'the exception id (exc-...)')
    .requiredOption('--by <who>', 'who revokes it')
    .option('--reason <text>', 'why')
    .option('--json', 'print the result as JSON')
    .action(async (id: string, options: { by: string; reason?: string; json?: boolean }) => {
      if (options.by.trim() === '') throw new Error('invalid --by: it is empty');
      await withRuntime(context, async (runtime) => {
        const result = await new ExceptionStore(runtime.database.db, new SystemClock()).revoke(id, options.by, options.reason);
        if (options.json) {
          return writeJson(context, { ...toJson(result.exception), realerted: result.realerted, reassigned: result.reassigned, released: result.released });
        }
        context.stdout.write(
          `Revoked risk exception ${printable(id)}: ${result.realerted + result.released} open finding(s) live again, ` +
            `${result.reassigned} still covered by another exception.\n`,
        );
      });
    });

  exception
    .command('history')
    .description('the audit trail of risk exceptions (created, revoked, expired), oldest first')
    .argument('[id]', 'only this exception')
    .option('--json', 'print a JSON array')
    .action(async (id: string | undefined, options: { json?: boolean }) => {
      await withRuntime(context, async (runtime) => {
        const entries = await new ExceptionStore(runtime.database.db, new SystemClock()).history(id);
        const json = entries.map((e: AuditEntry) => ({ ...e, at: new Date(e.at).toISOString() }));
        if (options.json) return writeJson(context, json);
        if (json.length === 0) return void context.stdout.write('No audit entries.\n');
        context.stdout.write(formatTable(['AT', 'EXCEPTION', 'ACTION', 'BY', 'DETAILS'], json.map((e) => [e.at, e.exceptionId, e.action, e.actor, JSON.stringify(e.details)])));
      });
    });
}

function toJson(e: RiskException): ExceptionJson {
  return {
    id: e.id,
    status: e.status,
    rule: e.rule,
    accountId: e.accountId,
    resourceId: e.resourceId,
    until: new Date(e.until).toISOString(),
    reason: e.reason,
    createdBy: e.createdBy,
    createdAt: new Date(e.createdAt).toISOString(),
    revokedAt: e.revokedAt === null ? null : new Date(e.revokedAt).toISOString(),
    revokedBy: e.revokedBy,
    revokeReason: e.revokeReason,
  };
}

/**
 * An exception's end as people wrote it: `--until 2026-06-30` ends at the next local midnight, shown as "end of
 * 2026-06-30" (for 9999-12-31, not a date in the year 10000).
 */
export function formatUntil(until: number, sla: SlaPolicy): string {
  const local = DateTime.fromMillis(until, { zone: sla.timezone });
  if (local.toMillis() === local.startOf('day').toMillis()) return `end of ${local.minus({ days: 1 }).toISODate()} (${sla.timezone})`;
  return sla.formatLocal(until);
}

function describeScope(e: RiskException): string {
  return printable(`rule ${e.rule}, ${e.accountId ? `account ${e.accountId}` : 'every account'}, ${e.resourceId ? `resource ${e.resourceId}` : 'every resource'}`);
}
