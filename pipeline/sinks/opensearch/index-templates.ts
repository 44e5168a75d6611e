import { IndexNames } from './index-names.ts';

const Keyword = { type: 'keyword', ignore_above: 1024 } as const;
const DateField = { type: 'date', format: 'strict_date_optional_time||epoch_millis' } as const;
const BoolField = { type: 'boolean' } as const;
const TextField = { type: 'text' } as const;
const TextWithKeyword = { type: 'text', fields: { keyword: Keyword } } as const;

/** Fields of every event document: keywords where people filter and aggregate, dates as dates. */
export const EventProperties = {
  '@timestamp': DateField,
  eventId: Keyword,
  evaluationKey: Keyword,
  accountId: Keyword,
  accountName: Keyword,
  owner: Keyword,
  environment: Keyword,
  accountKnown: BoolField,
  region: Keyword,
  rule: Keyword,
  configRuleName: Keyword,
  ruleTitle: TextWithKeyword,
  ruleCategory: Keyword,
  ruleKnown: BoolField,
  severity: Keyword,
  severityRank: { type: 'byte' },
  scope: Keyword,
  inScope: BoolField,
  resourceType: Keyword,
  resourceId: Keyword,
  compliance: Keyword,
  previousCompliance: Keyword,
  transition: Keyword,
  eventTime: DateField,
  annotation: TextField,
  evaluationMode: Keyword,
  findingId: Keyword,
  /** stream, or the driftwatch job that built the change (reconcile, accounts). */
  source: Keyword,
} as const;

/** Fields of every finding document (current state of one episode of non-compliance). */
export const FindingProperties = {
  findingId: Keyword,
  evaluationKey: Keyword,
  accountId: Keyword,
  accountName: Keyword,
  owner: Keyword,
  environment: Keyword,
  region: Keyword,
  rule: Keyword,
  configRuleName: Keyword,
  ruleTitle: TextWithKeyword,
  ruleCategory: Keyword,
  resourceType: Keyword,
  resourceId: Keyword,
  severity: Keyword,
  severityRank: { type: 'byte' },
  annotation: TextField,
  status: Keyword,
  openedAt: DateField,
  openedEventId: Keyword,
  deadline: DateField,
  breached: BoolField,
  resolvedAt: DateField,
  resolution: Keyword,
  resolvedEventId: Keyword,
  timeToResolveMs: { type: 'long' },
  timeToResolveHours: { type: 'double' },
  lastEventId: Keyword,
  lastEventAt: DateField,
  lastCompliance: Keyword,
  escalated: BoolField,
  escalatedAt: DateField,
  lastReminderAt: DateField,
  reminderCount: { type: 'integer' },
  excepted: BoolField,
  exceptionId: Keyword,
  slaBreached: BoolField,
  // object, not nested: dashboards cannot aggregate nested fields, and each notice is queried on its own fields.
  escalations: { type: 'object', properties: { kind: Keyword, n: { type: 'integer' }, at: DateField, channel: Keyword } },
} as const;

/** Bumped when the templates change, so an operator can see which version a cluster has (`_meta.version`). */
export const TemplateVersion = 3;

/**
 * The mark every index created from our templates carries in its mapping (`_meta`): `migrate` changes only indices
 * that have it, never another application's index that happens to match a wildcard.
 */
export const OwnershipMark = { managed_by: 'driftwatch' } as const;

export type IndexKind = 'events' | 'findings';

/** The mapping `_meta` of our indices of one kind. */
export function mappingMeta(kind: IndexKind): Record<string, string> {
  return { ...OwnershipMark, kind };
}

/** True when an index mapping carries our mark for that kind. */
export function hasOwnershipMark(mapping: { readonly _meta?: unknown } | undefined, kind: IndexKind): boolean {
  const meta = mapping?._meta as Record<string, unknown> | undefined;
  return meta?.managed_by === OwnershipMark.managed_by && meta.kind === kind;
}

/**
 * Patterns for our monthly event indices (`<prefix>-events-YYYY.MM`): index templates and ISM templates know only `*`,
 * so one pattern per leading digit keeps `<prefix>-events-x-2020.01` (someone else's) out of our template, alias and
 * retention policy.
 */
export function eventIndexPatterns(prefix: string): string[] {
  return Array.from({ length: 10 }, (_, digit) => `${prefix}-events-${digit}*`);
}

export interface IndexTemplate {
  readonly name: string;
  readonly body: Record<string, unknown>;
}

/**
 * Composable index templates for the monthly event indices and the findings index. `dynamic: false` keeps fields we do
 * not know out of the mapping (they stay in _source) instead of letting one odd value fix a field's type forever.
 */
export function indexTemplates(prefix: string, replicas?: number): readonly IndexTemplate[] {
  const settings = (shards: number) => ({
    number_of_shards: shards,
    refresh_interval: '5s',
    ...(replicas !== undefined ? { number_of_replicas: replicas } : {}),
  });
  const meta = { managed_by: 'driftwatch', version: TemplateVersion };
  return [
    {
      name: IndexNames.eventsTemplate(prefix),
      body: {
        index_patterns: eventIndexPatterns(prefix),
        priority: 200,
        version: TemplateVersion,
        _meta: meta,
        template: {
          settings: settings(1),
          aliases: { [IndexNames.eventsAlias(prefix)]: {} },
          mappings: { dynamic: false, _meta: mappingMeta('events'), properties: EventProperties },
        },
      },
    },
    {
      name: IndexNames.findingsTemplate(prefix),
      body: {
        index_patterns: [IndexNames.findings(prefix)],
        priority: 200,
        version: TemplateVersion,
        _meta: meta,
        template: {
          settings: settings(1),
          mappings: { dynamic: false, _meta: mappingMeta('findings'), properties: FindingProperties },
        },
      },
    },
  ];
}
