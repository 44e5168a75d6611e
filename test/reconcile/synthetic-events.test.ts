import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../pipeline/config/load-settings.ts';
import { slackNotifierConfigFrom } from '../../pipeline/notify/slack/config.ts';
import { DeliveryPlanner } from '../../pipeline/notify/slack/delivery-planner.ts';
import type { PlannerInput } from '../../pipeline/notify/slack/delivery-planner.ts';
import { MessageFormatter } from '../../pipeline/notify/slack/message-format.ts';
import { NotificationPayload } from '../../pipeline/notify/notification-payload.ts';
import { syntheticEvent, syntheticEventId } from '../../pipeline/reconcile/synthetic-event.ts';
import type { SyntheticChange } from '../../pipeline/reconcile/synthetic-event.ts';
import { Documents } from '../../pipeline/sinks/opensearch/documents.ts';
import { ComplianceChangeEvent } from '../../schemas/compliance-change-event.ts';
import { AccountRegistry } from '../../stages/enrich/account-registry.ts';
import { AccountRegistryFile } from '../../schemas/account-registry.ts';
import { EnrichStage } from '../../stages/enrich/enrich-stage.ts';
import { RuleCatalog } from '../../stages/enrich/rule-catalog.ts';
import type { EnrichedEvent } from '../../stages/enrich/enriched-event.ts';
import { SlaPolicy } from '../../stages/track/sla-policy.ts';
import { TrackStage } from '../../stages/track/track-stage.ts';
import type { EvaluationState } from '../../stages/track/finding.ts';
import { enrichedEvent } from '../stages/stage-fixtures.ts';

const T0 = Date.parse('2026-03-04T10:00:00Z');
const change = (overrides: Partial<SyntheticChange> = {}): SyntheticChange => ({
  id: syntheticEventId('reconcile', 'run-1', 'key', 'NON_COMPLIANT', String(T0)),
  source: 'driftwatch.reconcile',
  mark: { run: 'run-1', notify: 'digest' },
  accountId: '111122223333',
  region: 'eu-west-1',
  configRuleName: 'OrgConfigRule-elb-logging-enabled-ab12cd',
  resourceType: 'AWS::ElasticLoadBalancingV2::LoadBalancer',
  resourceId: 'lb-1',
  compliance: 'NON_COMPLIANT',
  orderingTime: T0,
  now: T0 + 60_000,
  ...overrides,
});

describe('synthetic compliance changes', () => {
  const registry = new AccountRegistry(AccountRegistryFile.parse({ accounts: [{ id: '111122223333', name: 'payments-prod', environment: 'production', owner: 'payments' }] }));
  const enrich = new EnrichStage({ catalog: RuleCatalog.builtIn(), accounts: registry });

  it('validate against the event schema and carry their source and notify mark through enrich into the event document', () => {
    const event = ComplianceChangeEvent.parse(JSON.parse(JSON.stringify(syntheticEvent(change()))));
    const enriched = enrich.enrichOne({ event, raw: new Uint8Array() });
    expect(enriched).toMatchObject({ source: 'reconcile', notify: 'digest', rule: 'elb-logging-enabled', compliance: 'NON_COMPLIANT', orderingTime: T0 });
    expect(Documents.event({ event: enriched, transition: 'opened', state: null, finding: null }).source).toBe('reconcile');
    const alert = enrich.enrichOne({ event: ComplianceChangeEvent.parse(syntheticEvent(change({ mark: { run: 'r', notify: 'alert' } }))), raw: new Uint8Array() });
    expect(alert.notify).toBeUndefined();
  });

  it('a DELETED change has no newEvaluationResult and orders at its own time', () => {
    const event = ComplianceChangeEvent.parse(syntheticEvent(change({ compliance: 'DELETED', source: 'driftwatch.accounts' })));
    expect(event.detail.newEvaluationResult).toBeUndefined();
    const enriched = enrich.enrichOne({ event, raw: new Uint8Array() });
    expect(enriched).toMatchObject({ compliance: 'DELETED', orderingTime: T0, source: 'accounts' });
  });

  it('events from the stream are unmarked, and an unknown source is refused', () => {
    const stream = { ...syntheticEvent(change()), source: 'aws.config' as const, driftwatch: undefined };
    expect(enrich.enrichOne({ event: ComplianceChangeEvent.parse(stream), raw: new Uint8Array() }).source).toBeUndefined();
    expect(ComplianceChangeEvent.safeParse({ ...stream, source: 'evil.source' }).success).toBe(false);
  });

  it('ids are deterministic and differ with any part', () => {
    expect(syntheticEventId('reconcile', 'a', 'b')).toBe(syntheticEventId('reconcile', 'a', 'b'));
    expect(syntheticEventId('reconcile', 'a', 'b')).not.toBe(syntheticEventId('reconcile', 'ab', ''));
    expect(syntheticEventId('reconcile', 'a')).toMatch(/^reconcile-[\w-]{32}$/);
  });
});

describe('track: the out-of-scope resolution', () => {
  const store = { states: new Map<string, EvaluationState>(), async load(keys: readonly string[]) { return new Map([...this.states].filter(([k]) => keys.includes(k))); } };
  const track = () => new TrackStage({ store, sla: SlaPolicy.defaults() });

  it.each<[string, Partial<EnrichedEvent>, string, string | null]>([
    ['NON_COMPLIANT, now out of scope, finding open', { compliance: 'NON_COMPLIANT', inScope: false }, 'resolved', 'OUT_OF_SCOPE'],
    ['NON_COMPLIANT, still in scope, finding open', { compliance: 'NON_COMPLIANT', inScope: true }, 'unchanged', null],
    ['COMPLIANT, out of scope, finding open', { compliance: 'COMPLIANT', inScope: false }, 'resolved', 'COMPLIANT'],
    ['INSUFFICIENT_DATA, out of scope, finding open', { compliance: 'INSUFFICIENT_DATA', inScope: false }, 'unchanged', null],
  ])('%s', async (_name, second, transition, resolution) => {
    const stage = track();
    const opened = stage.apply(enrichedEvent({ eventId: 'open-1', compliance: 'NON_COMPLIANT', inScope: true, orderingTime: T0 }));
    expect(opened.transition).toBe('opened');
    const next = stage.apply(enrichedEvent({ eventId: 'next-1', orderingTime: T0 + 1, ...second }));
    expect(next.transition).toBe(transition);
    expect(next.finding?.resolution ?? null).toBe(resolution);
  });

  it('NON_COMPLIANT out of scope with no finding open records and opens nothing', () => {
    const next = track().apply(enrichedEvent({ eventId: 'x', compliance: 'NON_COMPLIANT', inScope: false, orderingTime: T0 }));
    expect(next).toMatchObject({ transition: 'recorded', finding: null });
  });
});

describe('the Slack planner honours the backfill mark', () => {
  // Medium stays with the owner alone, so the plan has one group (security gets every severity by default).
  const settings = loadSettings({ SLACK_SECURITY_CHANNEL: '#security', SLACK_SECURITY_SEVERITIES: 'Critical' });
  const planner = new DeliveryPlanner(slackNotifierConfigFrom(settings), new MessageFormatter({ catalog: RuleCatalog.builtIn() }));
  const finding = {
    findingId: 'f1', evaluationKey: 'k1', accountId: '111122223333', accountName: 'payments-prod', region: 'eu-west-1', rule: 'elb-logging-enabled',
    configRuleName: 'OrgConfigRule-elb-logging-enabled-ab12cd', ruleTitle: 'Load balancers write access logs', resourceType: 'AWS::ElasticLoadBalancingV2::LoadBalancer',
    resourceId: 'lb-1', severity: 'Medium', environment: 'production', owner: 'payments', slackChannel: '#payments', annotation: null, status: 'open',
    openedAt: T0, openedEventId: 'e1', deadline: null, resolvedAt: null, resolution: null, resolvedEventId: null,
  };
  const input = (notify?: 'digest' | 'silent'): PlannerInput => ({
    intents: [{ intent: { intentId: 'i1', findingId: 'f1', kind: 'finding.opened', payload: null, attempts: 1, seq: '1' }, payload: NotificationPayload.parse({ kind: 'finding.opened', finding, ...(notify ? { notify } : {}) }) }],
    existing: new Map(), ownRows: [], previous: [], digests: new Map(), findingStates: new Map(), reconcileSince: () => 0,
  });

  it.each([
    [undefined, 'a flood candidate the detector decides on', false],
    ['digest' as const, 'a candidate forced into the digest', true],
  ])('notify %s: %s', (notify, _what, forced) => {
    const plan = planner.plan(input(notify));
    expect(plan.settled).toEqual([]);
    const groups = [...plan.groups.values()];
    expect(groups).toHaveLength(1);
    expect(groups[0]!.forceDigest ?? false).toBe(forced);
  });

  it('notify silent: settled as suppressed, nothing to post', () => {
    const plan = planner.plan(input('silent'));
    expect(plan.settled).toEqual([{ intentId: 'i1', status: 'suppressed', reason: 'backfill: silent' }]);
    expect(plan.groups.size).toBe(0);
    expect(plan.steps).toEqual([]);
  });
});
