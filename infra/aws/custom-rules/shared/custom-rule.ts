import type { ConfigurationItem, RuleEvaluation } from './config-rule-event.ts';
import type { RuleClients } from './rule-clients.ts';

/** One custom rule: how it judges a changed resource, and how it sweeps the account on its schedule. */
export interface CustomRule {
  /** The catalog name (the organization rule's name). */
  readonly name: string;
  /** The resource type it reports on. */
  readonly resourceType: string;
  /** Judges one recorded resource that exists and is in scope (deleted and out-of-scope ones never get here). */
  evaluate?(item: ConfigurationItem, clients: RuleClients): Promise<RuleEvaluation>;
  /**
   * Judges every resource of the account and region; `undefined` when this region has nothing to sweep (global
   * resources are swept in one region only).
   */
  sweep(clients: RuleClients, region: string): AsyncIterable<RuleEvaluation> | undefined;
}
