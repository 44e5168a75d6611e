import type { ComplianceType } from '../../../schemas/compliance-change-event.ts';
import { Regions, ResourceTypeByRule, seededRandom } from '../../../pipeline/demo/synthetic-org.ts';
import { BuiltInRules } from '../../../stages/enrich/built-in-rules.ts';

/** One rule's latest result for one resource in one member account and region, as Config keeps it. */
export interface ConfigEvaluation {
  readonly accountId: string;
  readonly region: string;
  /** The rule's name in the member account: `OrgConfigRule-<name>-<suffix>`. */
  readonly configRuleName: string;
  readonly resourceType: string;
  readonly resourceId: string;
  readonly compliance: ComplianceType;
  /** Epoch ms: the evaluation's orderingTimestamp. */
  readonly orderingTime: number;
}

/** The configuration item of resource type AWS::Config::ResourceCompliance: one per evaluated resource. */
export interface ResourceComplianceItem {
  readonly accountId: string;
  readonly awsRegion: string;
  readonly resourceId: string;
  readonly resourceType: 'AWS::Config::ResourceCompliance';
  readonly configurationItemCaptureTime: string;
  readonly configurationItemStatus: 'OK';
  readonly configuration: {
    readonly complianceType: ComplianceType;
    readonly targetResourceId: string;
    readonly targetResourceType: string;
    readonly configRuleList: readonly { readonly configRuleName: string; readonly configRuleArn: string; readonly configRuleId: string; readonly complianceType: ComplianceType }[];
  };
}

export interface EstateOptions {
  readonly accountIds: readonly string[];
  readonly regions?: number;
  readonly rules?: number;
  readonly seed?: number;
  /** Share of NON_COMPLIANT results (default 0.12) and NOT_APPLICABLE ones (default 0.03). */
  readonly nonCompliantRate?: number;
  readonly notApplicableRate?: number;
  /** Resources per resource type per account and region: 1..this (default 2). */
  readonly maxPerType?: number;
  /** Latest orderingTimestamp of the generated results (default: one hour ago). */
  readonly until?: number;
}

/** Config records the ResourceCompliance item a little after the evaluation that changed it. */
export const RecordingLagMs = 45_000;

/** The org rule suffix Config appends in member accounts. */
export function memberRuleName(rule: string): string {
  let h = 7;
  for (const c of rule) h = (h * 131 + c.charCodeAt(0)) >>> 0;
  return `OrgConfigRule-${rule}-${h.toString(36).slice(0, 6).padEnd(6, 'x')}`;
}

/**
 * What an organization aggregator sees: the latest result of every rule on every resource of every account and
 * region. Generated deterministically from a seed; tests change it (put, remove) to make the stream miss things.
 */
export class ConfigEstate {
  readonly aggregatorName: string;
  readonly #results = new Map<string, ConfigEvaluation>();
  #items: ResourceComplianceItem[] | null = null;
  #byAccount: Map<string, ResourceComplianceItem[]> | null = null;

  constructor(aggregatorName = 'organization-aggregator') {
    this.aggregatorName = aggregatorName;
  }

  /** 100 accounts x 16 regions x 30 rules gives about 65,000 results. */
  static generate(options: EstateOptions, aggregatorName?: string): ConfigEstate {
    const estate = new ConfigEstate(aggregatorName);
    const random = seededRandom(options.seed ?? 23);
    const regions = Regions.slice(0, options.regions ?? 16);
    const rules = BuiltInRules.slice(0, options.rules ?? 30).map((r) => r.name);
    const nonCompliant = options.nonCompliantRate ?? 0.12;
    const notApplicable = options.notApplicableRate ?? 0.03;
    const maxPerType = options.maxPerType ?? 2;
    const until = options.until ?? Date.now() - 3_600_000;
    const rulesByType = new Map<string, string[]>();
    for (const rule of rules) {
      const type = ResourceTypeByRule[rule] ?? 'AWS::::Account';
      rulesByType.set(type, [...(rulesByType.get(type) ?? []), rule]);
    }
    for (const accountId of options.accountIds) {
      for (const region of regions) {
        for (const [type, typeRules] of rulesByType) {
          const count = type === 'AWS::::Account' ? 1 : 1 + Math.floor(random() * maxPerType);
          for (let n = 0; n < count; n++) {
            const resourceId = type === 'AWS::::Account' ? accountId : `${shortType(type)}-${region}-${accountId.slice(-4)}-${n}`;
            for (const rule of typeRules) {
              const draw = random();
              const compliance: ComplianceType = draw < nonCompliant ? 'NON_COMPLIANT' : draw < nonCompliant + notApplicable ? 'NOT_APPLICABLE' : 'COMPLIANT';
              estate.put({ accountId, region, configRuleName: memberRuleName(rule), resourceType: type, resourceId, compliance, orderingTime: until - Math.floor(random() * 30 * 86_400_000) });
            }
          }
        }
      }
    }
    return estate;
  }

  get size(): number {
    return this.#results.size;
  }

  evaluations(): ConfigEvaluation[] {
    return [...this.#results.values()];
  }

  put(evaluation: ConfigEvaluation): void {
    this.#results.set(keyOf(evaluation), evaluation);
    this.#items = null;
    this.#byAccount = null;
  }

  /** Config stopped evaluating this (rule removed from the account, resource deleted). */
  remove(evaluation: Pick<ConfigEvaluation, 'accountId' | 'region' | 'configRuleName' | 'resourceType' | 'resourceId'>): boolean {
    const removed = this.#results.delete(keyOf(evaluation));
    this.#items = null;
    this.#byAccount = null;
    return removed;
  }

  /** The ResourceCompliance items, in a stable order (accounts, regions, resources). */
  items(accountId?: string): readonly ResourceComplianceItem[] {
    if (!this.#items || !this.#byAccount) this.#build();
    return accountId === undefined ? this.#items! : (this.#byAccount!.get(accountId) ?? []);
  }

  #build(): void {
    const byResource = new Map<string, ConfigEvaluation[]>();
    for (const result of this.#results.values()) {
      const key = `${result.accountId}\u0000${result.region}\u0000${result.resourceType}\u0000${result.resourceId}`;
      const list = byResource.get(key);
      if (list) list.push(result);
      else byResource.set(key, [result]);
    }
    const items: ResourceComplianceItem[] = [];
    for (const key of [...byResource.keys()].sort()) {
      const results = byResource.get(key)!;
      const first = results[0]!;
      const latest = Math.max(...results.map((r) => r.orderingTime));
      const overall: ComplianceType = results.some((r) => r.compliance === 'NON_COMPLIANT') ? 'NON_COMPLIANT' : 'COMPLIANT';
      items.push({
        accountId: first.accountId,
        awsRegion: first.region,
        resourceId: `${first.resourceType}/${first.resourceId}`,
        resourceType: 'AWS::Config::ResourceCompliance',
        configurationItemCaptureTime: new Date(latest + RecordingLagMs).toISOString(),
        configurationItemStatus: 'OK',
        configuration: {
          complianceType: overall,
          targetResourceId: first.resourceId,
          targetResourceType: first.resourceType,
          configRuleList: results
            .sort((a, b) => (a.configRuleName < b.configRuleName ? -1 : 1))
            .map((r) => ({
              configRuleName: r.configRuleName,
              configRuleArn: `arn:aws:config:${r.region}:${r.accountId}:config-rule/config-rule-${r.configRuleName.length.toString(36)}`,
              configRuleId: `config-rule-${r.configRuleName.length.toString(36)}`,
              complianceType: r.compliance,
            })),
        },
      });
    }
    this.#items = items;
    this.#byAccount = new Map();
    for (const item of items) {
      const list = this.#byAccount.get(item.accountId);
      if (list) list.push(item);
      else this.#byAccount.set(item.accountId, [item]);
    }
  }
}

function keyOf(e: Pick<ConfigEvaluation, 'accountId' | 'region' | 'configRuleName' | 'resourceType' | 'resourceId'>): string {
  return `${e.accountId}\u0000${e.region}\u0000${e.configRuleName}\u0000${e.resourceType}\u0000${e.resourceId}`;
}

function shortType(type: string): string {
  return type.split('::').at(-1)!.toLowerCase();
}
