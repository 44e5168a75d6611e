import { findingRow } from '../../pipeline/sinks/postgres/state-committer.ts';
import type { Kysely } from 'kysely';
import type { Database } from '../../pipeline/store/database-schema.ts';
import type { Finding } from '../../stages/track/finding.ts';
import type { Severity } from '../../schemas/rule-catalog.ts';
import type { Compliance } from '../../stages/enrich/enriched-event.ts';
import { evaluationKeyOf } from '../../stages/enrich/enriched-event.ts';

let sequence = 0;

/** A finding with sensible defaults; `at` values are ISO strings or epoch ms. */
export function makeFinding(overrides: Partial<Omit<Finding, 'openedAt' | 'deadline' | 'resolvedAt'>> & {
  openedAt: string | number;
  deadline?: string | number | null;
  resolvedAt?: string | number | null;
  severity?: Severity;
}): Finding {
  const n = ++sequence;
  const accountId = overrides.accountId ?? '111122223333';
  const rule = overrides.rule ?? 'root-account-mfa-enabled';
  const resourceId = overrides.resourceId ?? `resource-${n}`;
  const key = evaluationKeyOf(accountId, 'us-east-1', rule, 'AWS::S3::Bucket', resourceId);
  const resolvedAt = overrides.resolvedAt === undefined || overrides.resolvedAt === null ? null : ms(overrides.resolvedAt);
  return {
    findingId: overrides.findingId ?? `finding-${n}`,
    evaluationKey: overrides.evaluationKey ?? key,
    accountId,
    accountName: overrides.accountName ?? `account-${accountId}`,
    region: 'us-east-1',
    rule,
    configRuleName: rule,
    ruleTitle: rule,
    resourceType: 'AWS::S3::Bucket',
    resourceId,
    severity: overrides.severity ?? 'Critical',
    environment: 'production',
    owner: overrides.owner ?? 'payments',
    slackChannel: '#payments-alerts',
    annotation: null,
    status: resolvedAt === null ? 'open' : 'resolved',
    openedAt: ms(overrides.openedAt),
    openedEventId: `event-open-${n}`,
    deadline: overrides.deadline === undefined || overrides.deadline === null ? null : ms(overrides.deadline),
    resolvedAt,
    resolution: resolvedAt === null ? null : 'COMPLIANT',
    resolvedEventId: resolvedAt === null ? null : `event-resolve-${n}`,
  };
}

export function ms(at: string | number): number {
  return typeof at === 'number' ? at : Date.parse(at);
}

/** Inserts findings as the state sink would (the exception trigger applies). */
export async function insertFindings(db: Kysely<Database>, findings: readonly Finding[]): Promise<void> {
  if (findings.length === 0) return;
  await db
    .insertInto('findings')
    .values(findings.map((f) => ({ ...findingRow(f), exception_id: null, escalated_at: null, last_reminder_at: null })))
    .execute();
}

export async function resolveFinding(db: Kysely<Database>, findingId: string, at: string | number): Promise<void> {
  await db
    .updateTable('findings')
    .set({ status: 'resolved', resolved_at: new Date(ms(at)), resolution: 'COMPLIANT', resolved_event_id: `resolve-${findingId}` })
    .where('finding_id', '=', findingId)
    .execute();
}

export interface EvaluationSpec {
  readonly accountId: string;
  readonly rule: string;
  readonly resourceId: string;
  readonly compliance: Compliance;
  readonly inScope?: boolean;
}

/** Sets the current result of evaluation keys (what a compliance snapshot reads). */
export async function setEvaluations(db: Kysely<Database>, specs: readonly EvaluationSpec[], at: string | number): Promise<void> {
  await db
    .insertInto('evaluations')
    .values(specs.map((s) => ({
      evaluation_key: evaluationKeyOf(s.accountId, 'us-east-1', s.rule, 'AWS::S3::Bucket', s.resourceId),
      account_id: s.accountId,
      region: 'us-east-1',
      rule: s.rule,
      resource_type: 'AWS::S3::Bucket',
      resource_id: s.resourceId,
      compliance: s.compliance,
      ordering_time: new Date(ms(at)),
      event_id: `event-${s.accountId}-${s.rule}-${s.resourceId}-${ms(at)}`,
      in_scope: s.inScope ?? true,
      open_finding_id: null,
      updated_at: new Date(),
    })))
    .onConflict((oc) =>
      oc.column('evaluation_key').doUpdateSet((eb) => ({
        compliance: eb.ref('excluded.compliance'),
        ordering_time: eb.ref('excluded.ordering_time'),
        event_id: eb.ref('excluded.event_id'),
        in_scope: eb.ref('excluded.in_scope'),
      })),
    )
    .execute();
}

/** Outbox payloads of one kind, parsed, oldest intent id first. */
export async function outbox(db: Kysely<Database>, kind: string): Promise<{ intentId: string; findingId: string; status: string; payload: any }[]> {
  const rows = await db.selectFrom('notification_outbox').selectAll().where('kind', '=', kind).orderBy('intent_id').execute();
  return rows.map((r) => ({ intentId: r.intent_id, findingId: r.finding_id, status: r.status, payload: typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload }));
}
