import type { Runtime } from '../runtime/create-runtime.ts';
import { toStorableText } from '../../schemas/storable-text.ts';
import type { RawRecord } from '../../stages/decode/raw-record.ts';
import type { EnrichedEvent } from '../../stages/enrich/enriched-event.ts';
import type { Item, RecordOrigin } from '../../stages/stage.ts';
import type { TrackedEvent } from '../../stages/track/tracked-event.ts';
import { buildEnrichChain } from '../processor/build-stage-chain.ts';
import { failureKind } from '../processor/failure-kind.ts';
import { deliver } from '../sinks/deliver.ts';

export interface RedriveOptions {
  readonly ids?: readonly number[];
  readonly limit: number;
  readonly includeFailedAgain?: boolean;
}

export interface RedriveSummary {
  readonly considered: number;
  readonly redriven: number;
  readonly failedAgain: number;
  readonly failures: readonly { readonly id: number; readonly reason: string }[];
}

// Letters re-processed per processor call; one that fails again never holds back the others (see below).
const BatchSize = 500;

/**
 * Re-processes dead letters after a fix. Stage failures go through the whole pipeline again (the state commit keeps
 * it idempotent); sink failures (`sink:<name>`) re-send that sink the event's first effect as Postgres recorded it,
 * because their state is already committed. Each letter ends redriven, or failed-again with the reason it failed
 * this time: a letter that fails again never stops the others (issue 9).
 */
export async function redriveDeadLetters(runtime: Runtime, options: RedriveOptions, signal: AbortSignal): Promise<RedriveSummary> {
  const db = runtime.database.db;
  let query = db.selectFrom('dead_letters').selectAll().orderBy('id').limit(options.limit);
  query = options.includeFailedAgain ? query.where('status', 'in', ['pending', 'failed-again']) : query.where('status', '=', 'pending');
  if (options.ids && options.ids.length > 0) query = query.where('id', 'in', options.ids.map(String));
  const letters = await query.execute();

  // The chain's stateless part (decode, enrich, scope) tells which letters are still not events, and rebuilds the
  // input of a sink that refused an event whose state is committed.
  const prepare = buildEnrichChain({ catalog: runtime.catalog, accounts: runtime.accounts, maxRecordBytes: runtime.settings.DRIFTWATCH_MAX_RECORD_BYTES });
  const failures = new Map<string, string>();
  const redriven: string[] = [];
  const stageRetries: Item<RawRecord>[] = [];
  const sinkRetries = new Map<string, { id: string; item: Item<TrackedEvent> }[]>();
  const sinkEvents: { id: string; stage: string; origin: RecordOrigin; event: EnrichedEvent }[] = [];

  // The letter's id as sequence number: unique, so each result is matched to its letter.
  const items: Item<RawRecord>[] = letters.map((letter) => ({ origin: { shardId: letter.shard_id, sequenceNumber: letter.id }, value: { data: letter.raw } }));
  const prepared = await prepare.run({ shardId: 'redrive', items }, signal);
  for (const letter of prepared.rejected) failures.set(letter.origin.sequenceNumber, letter.reason);
  const events = new Map(prepared.kept.map((item) => [item.origin.sequenceNumber, item.value]));
  for (const [i, letter] of letters.entries()) {
    const event = events.get(letter.id);
    if (!event) continue;
    if (letter.stage.startsWith('sink:')) sinkEvents.push({ id: letter.id, stage: letter.stage, origin: items[i]!.origin, event });
    else stageRetries.push(items[i]!);
  }

  if (stageRetries.length > 0) {
    const processor = runtime.createProcessor('redrive');
    const run = async (items: readonly Item<RawRecord>[]): Promise<void> => {
      try {
        const summary = await processor.process('redrive', items, null, 'redrive', signal, { returnDeadLetters: true });
        const failed = new Map((summary.returnedDeadLetters ?? []).map((letter) => [letter.origin.sequenceNumber, letter.reason]));
        for (const item of items) {
          const reason = failed.get(item.origin.sequenceNumber);
          if (reason === undefined) redriven.push(item.origin.sequenceNumber);
          else failures.set(item.origin.sequenceNumber, reason);
        }
      } catch (error) {
        // The store or the lease is away: nothing is decided, every letter stays as it was.
        if (signal.aborted || failureKind(error) === 'transient') throw error;
        if (items.length === 1) {
          failures.set(items[0]!.origin.sequenceNumber, (error as Error).message);
          return;
        }
        // Something about one letter breaks the batch: one letter at a time finds it, the others go through.
        for (const item of items) await run([item]);
      }
    };
    for (let i = 0; i < stageRetries.length; i += BatchSize) await run(stageRetries.slice(i, i + BatchSize));
  }

  if (sinkEvents.length > 0) {
    const effects = await runtime.stateCommitter.firstEffects(sinkEvents.map((s) => s.event.eventId));
    for (const { id, stage, origin, event } of sinkEvents) {
      const effect = effects.get(event.eventId)!;
      const sinkName = stage.slice('sink:'.length);
      const list = sinkRetries.get(sinkName) ?? [];
      list.push({ id, item: { origin, value: { event, transition: effect.transition, state: null, finding: effect.finding, rebuilt: true } } });
      sinkRetries.set(sinkName, list);
    }
  }
  for (const [sinkName, retries] of sinkRetries) {
    const sink = runtime.sinks.find((s) => s.name === sinkName);
    if (!sink) {
      for (const r of retries) failures.set(r.id, `sink ${sinkName} is not configured in this run`);
      continue;
    }
    const result = await deliver(sink, { shardId: 'redrive', items: retries.map((r) => r.item) }, signal, runtime.logger.child({ sink: sinkName }));
    const rejected = new Map(result.rejected.map((r) => [r.item, r.reason]));
    for (const r of retries) {
      const reason = rejected.get(r.item);
      if (reason === undefined) redriven.push(r.id);
      else failures.set(r.id, reason);
    }
  }

  const now = new Date();
  if (redriven.length > 0) {
    await db.updateTable('dead_letters').set((eb) => ({ status: 'redriven', redriven_at: now, attempts: eb('attempts', '+', 1) })).where('id', 'in', redriven).execute();
  }
  for (const [id, reason] of failures) {
    await db
      .updateTable('dead_letters')
      .set((eb) => ({ status: 'failed-again', reason: toStorableText(reason), attempts: eb('attempts', '+', 1) }))
      .where('id', '=', id)
      .execute();
  }
  return {
    considered: letters.length,
    redriven: redriven.length,
    failedAgain: failures.size,
    failures: [...failures].map(([id, reason]) => ({ id: Number(id), reason })),
  };
}
