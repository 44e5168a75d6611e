import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KinesisConsumer } from '../../../pipeline/kinesis/kinesis-consumer.ts';
import { ShardLeaseManager } from '../../../pipeline/kinesis/shard-lease-manager.ts';
import { startLocalKinesis } from '../../support/kinesis.ts';
import type { LocalKinesis } from '../../support/kinesis.ts';
import { complianceEvent } from '../../support/events.ts';
import type { ComplianceType } from '../../../schemas/compliance-change-event.ts';
import { Rules, SlackHarness, T0, minutes, nextEventId } from './slack-harness.ts';

const Stream = 'slack-e2e';

describe('end to end: event in Kinesis -> Slack message -> edited when fixed', () => {
  let kinesis: LocalKinesis;
  let h: SlackHarness;
  beforeAll(async () => {
    kinesis = await startLocalKinesis();
    await kinesis.createStream(Stream, 2);
    h = await SlackHarness.start({ slack: { now: Date.now } });
  });
  afterAll(async () => {
    await h?.close();
    await kinesis?.close();
  });

  const put = async (changes: readonly { resourceId: string; compliance: ComplianceType; at: number; rule: string }[]) =>
    kinesis.put(
      Stream,
      changes.map((c) => {
        const event = complianceEvent({ id: nextEventId(), resourceId: c.resourceId, compliance: c.compliance, at: c.at, account: '111111111111', configRuleName: c.rule });
        return { data: JSON.stringify(event), partitionKey: c.resourceId };
      }),
    );

  const consumeUntilCaughtUp = async () => {
    const consumer = new KinesisConsumer({
      client: kinesis.client,
      streamName: Stream,
      leases: new ShardLeaseManager(h.runtime.database.db, { streamName: Stream, owner: 'e2e-worker', leaseMs: 30_000 }),
      createProcessor: (shardId) => h.runtime.createProcessor(shardId),
      batchLimit: 500,
      maxInFlight: 2,
      pollIntervalMs: 200,
      refreshIntervalMs: 300,
      logger: pino({ level: 'silent' }),
      stopWhenCaughtUp: true,
    });
    await consumer.run(new AbortController().signal);
  };

  const waitUntilDrained = async (timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const statuses = await h.outboxStatuses();
      if ((statuses.pending ?? 0) + (statuses.claimed ?? 0) === 0) return statuses;
      if (Date.now() > deadline) throw new Error(`outbox not drained: ${JSON.stringify(statuses)}`);
      await sleep(50);
    }
  };

  it('Slack down does not hold the stream; once back, alerts go out and fixes edit them in place', async () => {
    const notifier = h.notifier({ realTime: true, config: { channelIntervalMs: 50, pollIntervalMs: 50, backoffBaseMs: 50, backoffMaxMs: 300, inlineAttempts: 2 } });
    const stop = new AbortController();
    await notifier.init(stop.signal);
    const running = notifier.run(stop.signal);
    try {
      h.slack.setOutage({ status: 503 });
      await put([
        { resourceId: 'bucket-e2e-1', compliance: 'NON_COMPLIANT', at: T0, rule: Rules.critical },
        { resourceId: 'bucket-e2e-2', compliance: 'NON_COMPLIANT', at: T0, rule: Rules.high },
        { resourceId: 'bucket-e2e-3', compliance: 'NON_COMPLIANT', at: T0, rule: Rules.medium },
      ]);
      // The consumer catches up (checkpoints move) while every Slack call fails.
      await consumeUntilCaughtUp();
      const checkpoints = await h.runtime.database.db.selectFrom('shard_leases').select('checkpoint').where('stream_name', '=', Stream).execute();
      expect(checkpoints.filter((c) => c.checkpoint !== null).length).toBeGreaterThan(0);
      expect(await h.runtime.database.db.selectFrom('findings').select('finding_id').where('status', '=', 'open').execute()).toHaveLength(3);
      await sleep(300);
      expect(h.slack.messages()).toHaveLength(0);
      expect(h.slack.stats().byStatus['503']).toBeGreaterThan(0);

      h.slack.clearOutage();
      expect(await waitUntilDrained()).toEqual({ sent: 3 });
      expect(h.slack.messages('#payments-alerts')).toHaveLength(3);
      expect(h.slack.messages('#security')).toHaveLength(1);
      expect(h.slack.messages().every((m) => m.text?.startsWith('OPEN'))).toBe(true);

      await put([
        { resourceId: 'bucket-e2e-1', compliance: 'COMPLIANT', at: T0 + minutes(20), rule: Rules.critical },
        { resourceId: 'bucket-e2e-2', compliance: 'NOT_APPLICABLE', at: T0 + minutes(20), rule: Rules.high },
      ]);
      await consumeUntilCaughtUp();
      expect(await waitUntilDrained()).toEqual({ sent: 5 });
      const messages = h.slack.messages();
      expect(messages).toHaveLength(4);
      const edited = messages.filter((m) => m.edits.length === 1);
      expect(edited).toHaveLength(3); // bucket-e2e-1 in two channels, bucket-e2e-2
      expect(edited.map((m) => m.text?.split(' (')[0]).sort()).toEqual(['RESOLVED', 'RESOLVED', 'RESOLVED']);
      expect(messages.find((m) => m.text?.includes('bucket-e2e-3'))?.text).toMatch(/^OPEN Medium/);
    } finally {
      stop.abort();
      await running;
    }
  });
});
