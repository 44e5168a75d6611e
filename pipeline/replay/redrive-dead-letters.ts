import type { Runtime } from '../runtime/create-runtime.ts';
import { DecodeStage } from '../../stages/decode/decode-stage.ts';
import type { RawRecord } from '../../stages/decode/decode-stage.ts';
import { EnrichStage } from '../../stages/enrich/enrich-stage.ts';
import { isInScope } from '../../stages/scope/scope-stage.ts';
import type { Item } from '../../stages/stage.ts';
import type { TrackedEvent } from '../../stages/track/track-stage.ts';
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

/**
 * Re-processes dead letters after a fix. Stage failures go through the whole pipeline again (dedupe keeps it
 * idempotent); sink failures (`sink:<name>`) are re-sent to that sink only, because their state is already committed.
 */
export async function redriveDeadLetters(runtime: Runtime, options: RedriveOptions, signal: AbortSignal): Promise<RedriveSummary> {
  const db = runtime.database.db;
  let query = db.selectFrom('dead_letters').selectAll().orderBy('id').limit(options.limit);
  query = options.includeFailedAgain ? query.where('status', 'in', ['pending', 'failed-again']) : query.where('status', '=', 'pending');
  if (options.ids && options.ids.length > 0) query = query.where('id', 'in', options.ids.map(String));
  const letters = await query.execute();

  const decode = new DecodeStage({ maxRecordBytes: runtime.settings.DRIFTWATCH_MAX_RECORD_BYTES });
  const enrich = new EnrichStage({ catalog: runtime.catalog, accounts: runtime.accounts });
  const failures: { id: number; reason: string }[] = [];
  const stageRetries: { id: string; item: Item<RawRecord> }[] = [];
  const sinkRetries = new Map<string, { id: string; item: Item<TrackedEvent> }[]>();

  for (const letter of letters) {
    const origin = { shardId: letter.shard_id, sequenceNumber: letter.sequence_number };
    const decoded = decode.decodeOne(letter.raw);
    if (typeof decoded === 'string') {
      failures.push({ id: Number(letter.id), reason: decoded });
      continue;
    }
    if (letter.stage.startsWith('sink:')) {
      const enriched = enrich.enrichOne({ event: decoded, raw: letter.raw });
      const event = { ...enriched, inScope: isInScope(enriched) };
      const list = sinkRetries.get(letter.stage.slice('sink:'.length)) ?? [];
      list.push({ id: letter.id, item: { origin, value: { event, transition: 'recorded', state: null, finding: null } } });
      sinkRetries.set(letter.stage.slice('sink:'.length), list);
    } else {
      stageRetries.push({ id: letter.id, item: { origin, value: { data: letter.raw } } });
    }
  }

  const redriven: string[] = [];
  if (stageRetries.length > 0) {
    const processor = runtime.createProcessor('redrive');
    await processor.process('redrive', stageRetries.map((r) => r.item), null, 'redrive', signal);
    redriven.push(...stageRetries.map((r) => r.id));
  }
  for (const [sinkName, retries] of sinkRetries) {
    const sink = runtime.sinks.find((s) => s.name === sinkName);
    if (!sink) {
      for (const r of retries) failures.push({ id: Number(r.id), reason: `sink ${sinkName} is not configured in this run` });
      continue;
    }
    const result = await deliver(sink, { shardId: 'redrive', items: retries.map((r) => r.item) }, signal, runtime.logger.child({ sink: sinkName }));
    const rejected = new Map(result.rejected.map((r) => [r.item, r.reason]));
    for (const r of retries) {
      const reason = rejected.get(r.item);
      if (reason === undefined) redriven.push(r.id);
      else failures.push({ id: Number(r.id), reason });
    }
  }

  const now = new Date();
  if (redriven.length > 0) {
    await db.updateTable('dead_letters').set((eb) => ({ status: 'redriven', redriven_at: now, attempts: eb('attempts', '+', 1) })).where('id', 'in', redriven).execute();
  }
  for (const failure of failures) {
    await db
      .updateTable('dead_letters')
      .set((eb) => ({ status: 'failed-again', reason: failure.reason, attempts: eb('attempts', '+', 1) }))
      .where('id', '=', String(failure.id))
      .execute();
  }
  return { considered: letters.length, redriven: redriven.length, failedAgain: failures.length, failures };
}
