import type { AwsJsonService } from '../aws-json-server.ts';
import { AwsServiceError, paginate } from '../aws-json-server.ts';
import type { ConfigEstate, ResourceComplianceItem } from './config-estate.ts';

/** SelectAggregateResourceConfig: Limit/MaxResults 0..100; unset = 25 for plain queries, 500 for GROUP BY ones. */
const MaxLimit = 100;

// The subset of Config's advanced query language the reconciler sends; anything else is refused as the real service
// refuses a bad expression, so a drift in what the client sends fails a test instead of passing silently.
const Plain = /^SELECT\s+(.+?)\s+WHERE\s+resourceType\s*=\s*'([^']+)'(?:\s+AND\s+accountId\s*=\s*'(\d{12})')?\s*$/is;
const CountByAccount = /^SELECT\s+accountId\s*,\s*COUNT\(\*\)\s+WHERE\s+resourceType\s*=\s*'([^']+)'\s+GROUP\s+BY\s+accountId\s*$/is;

/**
 * AWS Config (`StarlingDoveService`, JSON 1.1) for an organization aggregator: SelectAggregateResourceConfig over
 * `AWS::Config::ResourceCompliance` items (one per evaluated resource, its rules and their compliance), with the real
 * page caps, NextToken pagination and error codes.
 */
export function configService(estate: ConfigEstate): AwsJsonService {
  return {
    targetPrefix: 'StarlingDoveService',
    operations: {
      SelectAggregateResourceConfig: (input) => {
        if (input.ConfigurationAggregatorName !== estate.aggregatorName) {
          throw new AwsServiceError('NoSuchConfigurationAggregatorException', `The configuration aggregator does not exist: ${String(input.ConfigurationAggregatorName)}`);
        }
        const expression = typeof input.Expression === 'string' ? input.Expression.trim() : '';
        const count = CountByAccount.exec(expression);
        if (count) {
          const counts = new Map<string, number>();
          for (const item of itemsOfType(estate, count[1]!)) counts.set(item.accountId, (counts.get(item.accountId) ?? 0) + 1);
          const rows = [...counts].map(([accountId, n]) => JSON.stringify({ accountId, 'COUNT(*)': n }));
          const { page, nextToken } = paginate(rows, input.NextToken, limitOf(input, 500));
          return { Results: page, QueryInfo: { SelectFields: [{ Name: 'accountId' }, { Name: 'COUNT(*)' }] }, ...(nextToken ? { NextToken: nextToken } : {}) };
        }
        const plain = Plain.exec(expression);
        if (!plain) throw new AwsServiceError('InvalidExpressionException', `The expression is not supported: ${expression.slice(0, 80)}`);
        const fields = plain[1]!.split(',').map((f) => f.trim());
        const items = itemsOfType(estate, plain[2]!, plain[3]);
        const { page, nextToken } = paginate(items, input.NextToken, limitOf(input, 25));
        return {
          Results: page.map((item) => JSON.stringify(project(item, fields))),
          QueryInfo: { SelectFields: fields.map((Name) => ({ Name })) },
          ...(nextToken ? { NextToken: nextToken } : {}),
        };
      },
    },
  };
}

function itemsOfType(estate: ConfigEstate, resourceType: string, accountId?: string): readonly ResourceComplianceItem[] {
  return resourceType === 'AWS::Config::ResourceCompliance' ? estate.items(accountId) : [];
}

function limitOf(input: Record<string, unknown>, fallback: number): number {
  const value = input.MaxResults ?? input.Limit;
  if (value === undefined || value === 0) return fallback;
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 0 || limit > MaxLimit) throw new AwsServiceError('InvalidLimitException', `Limit must be between 0 and ${MaxLimit}`);
  return limit;
}

/**
 * What `SELECT *` returns: only the CI's top-level scalar properties (Config Developer Guide, advanced query
 * limitations), so neither `configuration` nor `configurationItemStatus`; those must be selected by name.
 */
const StarFields = ['accountId', 'awsRegion', 'arn', 'availabilityZone', 'configurationItemCaptureTime', 'resourceCreationTime', 'resourceId', 'resourceName', 'resourceType', 'version'];

/** Keeps the selected fields, nested as Config returns them (`configuration.x` -> `{ configuration: { x } }`). */
function project(item: ResourceComplianceItem, fields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of fields.flatMap((f) => (f === '*' ? StarFields : [f]))) {
    const path = field.split('.');
    let source: unknown = item;
    for (const part of path) source = source && typeof source === 'object' ? (source as Record<string, unknown>)[part] : undefined;
    if (source === undefined) continue;
    let target = out;
    for (const part of path.slice(0, -1)) target = (target[part] ??= {}) as Record<string, unknown>;
    target[path.at(-1)!] = source;
  }
  return out;
}
