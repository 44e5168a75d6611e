import type { RuleCatalog } from '../../../stages/enrich/rule-catalog.ts';
import { BackfillDigestRule } from '../backfill-digest.ts';
import type { Severity } from '../../../schemas/rule-catalog.ts';
import type { FindingSnapshot } from '../notification-payload.ts';
import { codeSpan, formatDuration, plainText, safeText, slackDate, truncate, utcText } from './mrkdwn.ts';

export type Block = Readonly<Record<string, unknown>>;

/** A Block Kit message plus the plain-text fallback Slack shows in notifications and to screen readers. */
export interface SlackMessage {
  readonly text: string;
  readonly blocks: readonly Block[];
}

export interface AlertView {
  readonly finding: FindingSnapshot;
  readonly state: 'open' | 'resolved';
  /** How often the resource resolved and reopened within the debounce window on this message. */
  readonly flaps: number;
  /**
   * new: first alert; reopened: a flap edited back to open; recurred: open again long after a fix (posted in the old
   * thread); realert: a risk exception ended.
   */
  readonly variant: 'new' | 'reopened' | 'recurred' | 'realert';
}

export interface EscalationView {
  readonly finding: FindingSnapshot;
  readonly reminder: boolean;
  readonly count: number;
  readonly at: number;
  readonly ownerChannel: string;
}

/** What a digest message counts: its members by account and region, and the oldest open resources. */
export interface DigestTally {
  readonly total: number;
  readonly open: number;
  readonly byAccount: readonly { readonly accountId: string; readonly accountName: string; readonly total: number; readonly open: number }[];
  readonly accounts: number;
  readonly byRegion: readonly { readonly region: string; readonly total: number; readonly open: number }[];
  readonly regions: number;
  readonly topResources: readonly { readonly resourceType: string; readonly resourceId: string; readonly accountName: string; readonly region: string }[];
}

export interface DigestView extends DigestTally {
  readonly kind: 'opened' | 'escalated';
  readonly rule: string;
  readonly ruleTitle: string;
  readonly severity: string;
  readonly startedAt: number;
  readonly updatedAt: number;
}

export interface ReportView {
  readonly month: string;
  readonly text: string;
  readonly blocks?: readonly unknown[];
}

export interface MessageFormatterOptions {
  readonly catalog: RuleCatalog;
  /** For rules without a runbookUrl of their own: `<base>/<rule>`. */
  readonly runbookBaseUrl?: string;
}

const SeverityEmoji: Readonly<Record<Severity, string>> = {
  Critical: ':rotating_light:',
  High: ':warning:',
  Medium: ':large_yellow_circle:',
  Low: ':information_source:',
};

/** What the resolved alert's header says is now fine, by resolution. */
const ResolvedVerdict: Readonly<Record<string, string>> = {
  COMPLIANT: 'Now compliant',
  NOT_APPLICABLE: 'No longer applicable',
  DELETED: 'Resource deleted',
};

const ResolutionText: Readonly<Record<string, string>> = {
  COMPLIANT: 'compliant again',
  NOT_APPLICABLE: 'no longer applicable',
  DELETED: 'resource deleted',
  OUT_OF_SCOPE: 'out of scope: the account is no longer production',
};

// Slack limits: section text 3000, field 2000, header 150, button text 75, button url 3000, 50 blocks, 10 fields.
const FieldMax = 1_900;
const SectionMax = 2_900;

/**
 * Renders every notification as Block Kit plus a fallback text. Every value that comes from an event, the account
 * registry or a tag is escaped for mrkdwn; only text we build (links, dates) keeps its angle brackets.
 */
export class MessageFormatter {
  readonly #catalog: RuleCatalog;
  readonly #runbookBase: string | undefined;

  constructor(options: MessageFormatterOptions) {
    this.#catalog = options.catalog;
    this.#runbookBase = options.runbookBaseUrl?.replace(/\/+$/, '');
  }

  alert(view: AlertView): SlackMessage {
    const f = view.finding;
    const resolved = view.state === 'resolved' && f.resolvedAt !== null;
    // Catalog titles name the desired state ("Root user has MFA"): the header says whether it holds.
    const verdict = resolved ? ResolvedVerdict[f.resolution ?? ''] ?? 'Now compliant' : 'Not compliant';
    const title = `${resolved ? ':white_check_mark: Resolved' : `${SeverityEmoji[f.severity]} ${f.severity}`} · ${verdict}: ${f.ruleTitle}`;
    const status = resolved ? this.#resolvedLine(f, view.flaps) : this.#openLine(view);
    const blocks: Block[] = [
      { type: 'header', text: plainText(title, 150) },
      { type: 'section', text: { type: 'mrkdwn', text: status } },
      { type: 'section', fields: this.#fields(f) },
    ];
    if (f.annotation) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*Annotation*\n${safeText(f.annotation, SectionMax)}` } });
    const actions = this.#actions(f);
    if (actions) blocks.push(actions);
    blocks.push(this.#context(f));
    const state = resolved ? `RESOLVED (${ResolutionText[f.resolution ?? ''] ?? 'resolved'} after ${formatDuration(f.resolvedAt! - f.openedAt)})` : 'OPEN';
    const text = `${state} ${f.severity} · ${verdict}: ${safeText(f.ruleTitle, 200)} · ${safeText(f.resourceType, 100)} ${safeText(f.resourceId, 500)} in ${safeText(f.accountName, 100)} (${safeText(f.accountId, 20)}, ${safeText(f.environment, 20)}) ${safeText(f.region, 30)}`;
    return { text, blocks };
  }

  escalation(view: EscalationView): SlackMessage {
    const f = view.finding;
    const what = view.reminder ? `Reminder ${view.count}: still past deadline` : 'Deadline passed';
    const deadline = f.deadline === null ? 'no deadline' : slackDate(f.deadline);
    const line = `*${what}* — ${f.severity} finding open since ${slackDate(f.openedAt)}, due ${deadline}.\nOwner: *${safeText(f.owner, 200)}* (${safeText(view.ownerChannel, 100)})`;
    const blocks: Block[] = [
      { type: 'header', text: plainText(`:alarm_clock: ${what} · Not compliant: ${f.ruleTitle}`, 150) },
      { type: 'section', text: { type: 'mrkdwn', text: line } },
      { type: 'section', fields: this.#fields(f) },
    ];
    const actions = this.#actions(f);
    if (actions) blocks.push(actions);
    blocks.push(this.#context(f));
    const text = `${what}: ${f.severity} · Not compliant: ${safeText(f.ruleTitle, 200)} on ${safeText(f.resourceType, 100)} ${safeText(f.resourceId, 500)} in ${safeText(f.accountName, 100)} (${safeText(f.accountId, 20)}), owner ${safeText(f.owner, 200)}`;
    return { text, blocks };
  }

  /** The owner's copy, posted in the thread of the original alert. */
  escalationReply(view: EscalationView): SlackMessage {
    const f = view.finding;
    const deadline = f.deadline === null ? 'its deadline' : `its deadline (${slackDate(f.deadline)})`;
    const text = view.reminder
      ? `:alarm_clock: Reminder ${view.count}: this ${f.severity} finding is still open past ${deadline}. The security team has been reminded.`
      : `:alarm_clock: This ${f.severity} finding passed ${deadline} and was escalated to the security team.`;
    return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
  }

  digest(view: DigestView): SlackMessage {
    const resolvedCount = view.total - view.open;
    // A backfill's digest holds every rule's findings of one channel (issue 11): no rule, severity or runbook of its own.
    const backfill = view.rule === BackfillDigestRule;
    const noun = backfill ? 'findings already open' : view.kind === 'opened' ? 'new findings' : 'findings past their deadline';
    const title = `${view.kind === 'opened' ? ':ocean:' : ':alarm_clock:'} ${view.total.toLocaleString('en-US')} ${noun} · ${backfill ? 'first reconcile with AWS Config' : view.ruleTitle}`;
    const rule = safeText(view.rule, 200);
    const lines = (items: readonly string[], more: number, what: string) =>
      items.join('\n') + (more > 0 ? `\n…and ${more.toLocaleString('en-US')} more ${what}` : '');
    const intro = backfill
      ? `The first reconcile with the AWS Config aggregator found ${view.total.toLocaleString('en-US')} ${noun} before driftwatch listened, across rules: one summary instead of one message each. `
      : `Too many to post one by one: ${view.total.toLocaleString('en-US')} ${noun} of ${codeSpan(view.rule, 200)} (${safeText(view.severity, 20)}) since ${slackDate(view.startedAt)}. `;
    const blocks: Block[] = [
      { type: 'header', text: plainText(title, 150) },
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `${intro}This message is kept up to date.\n*Open:* ${view.open.toLocaleString('en-US')}    *Resolved:* ${resolvedCount.toLocaleString('en-US')}`,
        },
      },
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: truncate(`*By account* (open / total)\n${lines(
            view.byAccount.map((a) => `• ${safeText(a.accountName, 80)} (${codeSpan(a.accountId, 20)}): ${a.open} / ${a.total}`),
            view.accounts - view.byAccount.length,
            'accounts',
          )}`, SectionMax),
        },
      },
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: truncate(`*By region* (open / total)\n${lines(
            view.byRegion.map((r) => `• ${safeText(r.region, 40)}: ${r.open} / ${r.total}`),
            view.regions - view.byRegion.length,
            'regions',
          )}`, SectionMax),
        },
      },
    ];
    if (view.topResources.length > 0) {
      blocks.push({
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: truncate(`*Oldest open resources*\n${view.topResources
            .map((r) => `• ${safeText(r.resourceType, 60)} ${codeSpan(r.resourceId, 200)} — ${safeText(r.accountName, 80)}, ${safeText(r.region, 30)}`)
            .join('\n')}`, SectionMax),
        },
      });
    }
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `*The rest:* ${codeSpan(`driftwatch findings${backfill ? '' : ` --rule ${view.rule}`} --status open`, 300)} (add ${codeSpan('--account <id>', 30)} for one account, \`--json\` for scripts)`,
      },
    });
    const runbook = backfill ? null : this.runbookUrl(view.rule);
    if (runbook) blocks.push({ type: 'actions', elements: [button('Runbook', runbook)] });
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `driftwatch digest · updated ${slackDate(view.updatedAt)}` }] });
    const text = backfill
      ? `${view.total} ${noun} found by the first reconcile with AWS Config: ${view.open} open, ${resolvedCount} resolved`
      : `${view.total} ${noun} of ${rule} (${safeText(view.severity, 20)}): ${view.open} open, ${resolvedCount} resolved`;
    return { text, blocks };
  }

  /** The monthly report is built by the report job in mrkdwn it controls (account names already escaped there). */
  report(view: ReportView): SlackMessage {
    const blocks: Block[] = [];
    if (view.blocks && view.blocks.length > 0) {
      for (const block of view.blocks.slice(0, 50)) if (isBlock(block)) blocks.push(block);
    } else {
      for (const chunk of splitText(view.text, SectionMax).slice(0, 50)) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: chunk } });
    }
    return { text: truncate(view.text.length > 0 ? view.text : `Compliance report ${view.month}`, 39_000), blocks };
  }

  /** The AWS Config console page of a resource; null when the region does not look like one (no host injection). */
  configConsoleUrl(region: string, resourceType: string, resourceId: string): string | null {
    if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) return null;
    const url = `https://${region}.console.aws.amazon.com/config/home?region=${region}#/resources/details?resourceId=${encodeURIComponent(resourceId)}&resourceType=${encodeURIComponent(resourceType)}`;
    return url.length <= 3_000 ? url : null;
  }

  runbookUrl(rule: string): string | null {
    const own = this.#catalog.lookup(rule).rule.runbookUrl;
    // The catalog schema allows http(s) only; a link built in code elsewhere gets the same check.
    if (own && /^https?:\/\//i.test(own)) return own;
    return this.#runbookBase ? `${this.#runbookBase}/${encodeURIComponent(rule)}` : null;
  }

  #openLine(view: AlertView): string {
    const f = view.finding;
    const deadline = f.deadline === null ? '' : ` Due ${slackDate(f.deadline)}.`;
    if (view.variant === 'realert') return `*Alert again:* the risk exception for this finding ended and it is still open (since ${slackDate(f.openedAt)}).${deadline}`;
    if (view.variant === 'recurred') return `*Non-compliant again* ${slackDate(f.openedAt)}: this resource was fixed before (see above) and drifted again.${deadline}`;
    if (view.variant === 'reopened' || view.flaps > 0) {
      return `*Reopened* ${slackDate(f.openedAt)} — resolved and reopened ${view.flaps} time${view.flaps === 1 ? '' : 's'} in quick succession; this message is reused instead of posting again.${deadline}`;
    }
    return `*New finding* ${slackDate(f.openedAt)} in *${safeText(f.accountName, 200)}*, owner *${safeText(f.owner, 200)}*.${deadline}`;
  }

  #resolvedLine(f: FindingSnapshot, flaps: number): string {
    const how = ResolutionText[f.resolution ?? ''] ?? 'resolved';
    const flapped = flaps > 0 ? ` (flapped ${flaps} time${flaps === 1 ? '' : 's'})` : '';
    return `*Resolved* ${slackDate(f.resolvedAt!)}: ${how} after *${formatDuration(f.resolvedAt! - f.openedAt)}*${flapped}.`;
  }

  #fields(f: FindingSnapshot): Block[] {
    const field = (label: string, value: string) => ({ type: 'mrkdwn', text: truncate(`*${label}*\n${value}`, FieldMax) });
    return [
      field('Severity', `${SeverityEmoji[f.severity]} ${f.severity}`),
      field('Rule', `${safeText(f.ruleTitle, 300)}\n${codeSpan(f.rule, 200)}`),
      field('Account', `${safeText(f.accountName, 200)} (${codeSpan(f.accountId, 20)})\n${safeText(f.environment, 40)}`),
      field('Region', safeText(f.region, 40)),
      field('Resource', `${safeText(f.resourceType, 200)}\n${codeSpan(f.resourceId, 1_400)}`),
      field('Deadline', f.deadline === null ? 'none' : slackDate(f.deadline)),
    ];
  }

  #actions(f: FindingSnapshot): Block | null {
    const elements: Block[] = [];
    const config = this.configConsoleUrl(f.region, f.resourceType, f.resourceId);
    if (config) elements.push(button('AWS Config', config));
    const runbook = this.runbookUrl(f.rule);
    if (runbook) elements.push(button('Runbook', runbook));
    return elements.length > 0 ? { type: 'actions', elements } : null;
  }

  #context(f: FindingSnapshot): Block {
    return { type: 'context', elements: [{ type: 'mrkdwn', text: truncate(`driftwatch · finding ${codeSpan(f.findingId, 200)} · opened ${utcText(f.openedAt)}`, SectionMax) }] };
  }
}

function button(label: string, url: string): Block {
  return { type: 'button', text: plainText(label, 75), url };
}

function isBlock(value: unknown): value is Block {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}

function splitText(text: string, max: number): string[] {
  const chunks: string[] = [];
  let current = '';
  for (const line of text.split('\n')) {
    const candidate = current.length === 0 ? line : `${current}\n${line}`;
    if (candidate.length <= max) current = candidate;
    else {
      if (current.length > 0) chunks.push(current);
      current = truncate(line, max);
    }
  }
  if (current.length > 0) chunks.push(current);
  return chunks.length > 0 ? chunks : [' '];
}

