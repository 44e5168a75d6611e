import type { SlackMessage } from './message-format.ts';
import type { NewDelivery } from './slack-message-store.ts';
import type { DigestKind } from './slack-tables.ts';

/** A new message of its own. `reconcile`: an earlier attempt may have posted it; look for it before posting. */
export interface PostStep {
  readonly type: 'post';
  readonly intentId: string;
  /** How often the intent has been claimed (this claim included): scales the backoff when giving up for now. */
  readonly claims: number;
  readonly channel: string;
  readonly delivery: NewDelivery;
  readonly message: SlackMessage;
  readonly broadcast: boolean;
  readonly reconcile: boolean;
  /** Where to start looking when reconciling (the claim's time minus clock skew). */
  readonly since: number | null;
}

/** An edit of an existing message (resolve, flap). */
export interface UpdateStep {
  readonly type: 'update';
  readonly intentId: string;
  readonly claims: number;
  readonly channel: string;
  readonly channelId: string;
  readonly ts: string;
  readonly message: SlackMessage;
  /** After the edit: rows that now show `shows`. */
  readonly markShows?: { readonly postKeys: readonly string[]; readonly shows: string };
  /** After the edit: the delivery row that points at the edited message (a flap reuses the old message). */
  readonly reuse?: NewDelivery;
}

export type SlackStep = PostStep | UpdateStep;

/** A new post that the flood detector may fold into a digest instead. */
export interface FloodCandidate {
  readonly step: PostStep;
}

export interface FloodGroup {
  readonly channel: string;
  readonly rule: string;
  readonly kind: DigestKind;
  readonly candidates: FloodCandidate[];
  /** A reconcile backfill's findings: folded into the digest whatever the flood count says. */
  readonly forceDigest?: boolean;
}

export interface DeliveryPlan {
  /** Intents settled without Slack: suppressed (excepted finding, nothing to update) or failed (bad payload). */
  readonly settled: { readonly intentId: string; readonly status: 'suppressed' | 'failed'; readonly reason: string }[];
  /** Slack calls to make regardless of floods, per intent in claim order. */
  readonly steps: SlackStep[];
  /** New posts grouped by channel, rule and kind for the flood decision. */
  readonly groups: Map<string, FloodGroup>;
  /** Flapping digest members going back into the digest they came from. */
  readonly digestRejoins: { readonly digestId: string; readonly delivery: NewDelivery }[];
  /** Digests whose members resolved: their message is stale. */
  readonly touchedDigests: string[];
}

export function groupKeyOf(channel: string, rule: string, kind: DigestKind, forceDigest = false): string {
  return `${kind}\u0000${channel}\u0000${rule}${forceDigest ? '\u0000digest' : ''}`;
}

export function postKeyOf(intentId: string, channel: string): string {
  return `${intentId}|${channel}`;
}
