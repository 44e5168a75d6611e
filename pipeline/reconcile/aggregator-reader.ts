import { SelectAggregateResourceConfigCommand } from '@aws-sdk/client-config-service';
import type { ConfigServiceClient } from '@aws-sdk/client-config-service';
import { z } from 'zod';
import { ComplianceType } from '../../schemas/compliance-change-event.ts';
import { normalizeRuleName } from '../../stages/enrich/normalize-rule-name.ts';
import { callAws } from './aws-call.ts';
import type { AwsCallOptions } from './aws-call.ts';

/** One rule's current result for one resource, as the aggregator reports it. */
export interface AggregatorResult {
  readonly accountId: string;
  readonly region: string;
  readonly configRuleName: string;
  /** normalizeRuleName(configRuleName). */
  readonly rule: string;
  readonly resourceType: string;
  readonly resourceId: string;
  readonly compliance: ComplianceType;
  /** Epoch ms of the ResourceCompliance item's configurationItemCaptureTime: the time this answer is as of. */
  readonly capturedAt: number;
}

export interface AggregatorPage {
  readonly results: readonly AggregatorResult[];
  /** Resources on the page (one ResourceCompliance item each). */
  readonly resources: number;
  /** Items that did not parse or were deleted resources: skipped, never guessed. */
  readonly skipped: number;
}

/** Config's maximum page of SelectAggregateResourceConfig (plain queries default to 25 without it). */
export const PageSize = 100;

const ResourceType = 'AWS::Config::ResourceCompliance';

// configurationItemCaptureTime is the only time a ResourceCompliance item carries: when the resource's compliance
// last changed (recorded a little after the evaluation's orderingTimestamp). Rules' own timestamps are not in it.
const ResourceComplianceRow = z.object({
  accountId: z.string().regex(/^\d{12}$/),
  awsRegion: z.string().min(1),
  configurationItemCaptureTime: z.string().refine((value) => !Number.isNaN(Date.parse(value))),
  configurationItemStatus: z.string().optional(),
  configuration: z.object({
    targetResourceId: z.string().min(1),
    targetResourceType: z.string().min(1),
    configRuleList: z.array(z.object({ configRuleName: z.string().min(1), complianceType: z.string() })).default([]),
  }),
});

const CountRow = z.object({ accountId: z.string().regex(/^\d{12}$/) });

/**
 * Reads an organization aggregator's current compliance with SelectAggregateResourceConfig over
 * AWS::Config::ResourceCompliance: one item per evaluated resource carrying every rule's result, 100 per page. For
 * 100 accounts x 16 regions x 30 rules that is a few hundred calls, where GetAggregateComplianceDetailsByConfigRule
 * needs one call (and more pages) per rule x account x region: 48,000+ calls at Config's few calls per second.
 * Queries are per account, so a crash costs at most one account's pages and an account's sweep for evaluations
 * Config no longer reports is exact.
 */
export class AggregatorReader {
  readonly #client: ConfigServiceClient;
  readonly #aggregator: string;
  readonly #call: AwsCallOptions;
  /** Calls made and pages read, for the report and the benchmark. */
  calls = 0;

  constructor(client: ConfigServiceClient, aggregatorName: string, call: AwsCallOptions) {
    this.#client = client;
    this.#aggregator = aggregatorName;
    this.#call = call;
  }

  /** Accounts the aggregator has compliance items for (an aggregation query: pages of up to 500). */
  async accounts(): Promise<string[]> {
    const accounts: string[] = [];
    for await (const page of this.#select(`SELECT accountId, COUNT(*) WHERE resourceType = '${ResourceType}' GROUP BY accountId`, 0)) {
      for (const text of page) {
        const row = CountRow.safeParse(parseJson(text));
        if (row.success) accounts.push(row.data.accountId);
      }
    }
    return accounts.sort();
  }

  /** One account's results, page by page. */
  async *pages(accountId: string): AsyncGenerator<AggregatorPage> {
    if (!/^\d{12}$/.test(accountId)) throw new RangeError(`not an account id: ${accountId}`);
    const expression =
      'SELECT accountId, awsRegion, configuration.targetResourceId, configuration.targetResourceType, configuration.configRuleList, ' +
      `configurationItemCaptureTime, configurationItemStatus WHERE resourceType = '${ResourceType}' AND accountId = '${accountId}'`;
    for await (const texts of this.#select(expression, PageSize)) {
      const results: AggregatorResult[] = [];
      let skipped = 0;
      for (const text of texts) {
        const parsed = ResourceComplianceRow.safeParse(parseJson(text));
        if (!parsed.success || parsed.data.configurationItemStatus?.startsWith('ResourceDeleted')) {
          skipped++;
          continue;
        }
        const item = parsed.data;
        const capturedAt = Date.parse(item.configurationItemCaptureTime);
        for (const entry of item.configuration.configRuleList) {
          // Upper case in the API's results; the developer guide shows the stored form in lower case: accept both.
          const compliance = ComplianceType.safeParse(entry.complianceType.toUpperCase());
          if (!compliance.success) continue;
          results.push({
            accountId: item.accountId,
            region: item.awsRegion,
            configRuleName: entry.configRuleName,
            rule: normalizeRuleName(entry.configRuleName),
            resourceType: item.configuration.targetResourceType,
            resourceId: item.configuration.targetResourceId,
            compliance: compliance.data,
            capturedAt,
          });
        }
      }
      yield { results, resources: texts.length, skipped };
    }
  }

  async *#select(expression: string, limit: number): AsyncGenerator<readonly string[]> {
    let token: string | undefined;
    do {
      const output = await callAws(() => {
        this.calls++;
        return this.#client.send(
          new SelectAggregateResourceConfigCommand({ ConfigurationAggregatorName: this.#aggregator, Expression: expression, ...(limit > 0 ? { Limit: limit } : {}), ...(token ? { NextToken: token } : {}) }),
          { abortSignal: this.#call.signal },
        );
      }, this.#call);
      yield output.Results ?? [];
      token = output.NextToken;
    } while (token);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}
