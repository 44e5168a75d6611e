import type { RuleCatalog } from '../../../stages/enrich/rule-catalog.ts';
import { MessageFormatter } from '../../notify/slack/message-format.ts';

/** Links out of the console: the same AWS Config and runbook URLs the Slack alerts carry. */
export class ConsoleLinks {
  readonly #formatter: MessageFormatter;

  constructor(catalog: RuleCatalog, runbookBaseUrl?: string) {
    this.#formatter = new MessageFormatter({ catalog, ...(runbookBaseUrl ? { runbookBaseUrl } : {}) });
  }

  awsConsole(region: string, resourceType: string, resourceId: string): string | null {
    return this.#formatter.configConsoleUrl(region, resourceType, resourceId);
  }

  runbook(rule: string): string | null {
    return this.#formatter.runbookUrl(rule);
  }
}
