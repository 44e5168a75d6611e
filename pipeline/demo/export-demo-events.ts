import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { createSyntheticOrg, generateTraffic } from './synthetic-org.ts';
import type { DeliveryKind } from './synthetic-org.ts';

export interface ExportDemoOptions {
  readonly events: number;
  readonly accounts: number;
  readonly seed: number;
}

export interface ExportDemoSummary {
  readonly file: string;
  readonly records: number;
  readonly byKind: Readonly<Record<DeliveryKind, number>>;
}

/**
 * Writes the records the demo puts on its stream (same options, same seed: the same records in the same order),
 * one per line, so `driftwatch replay --file` can process them: duplicates and malformed records included, as the
 * stream carries them. Every demo record is compact JSON or short garbage without a line end, so lines frame them.
 */
export async function exportDemoEvents(file: string, options: ExportDemoOptions): Promise<ExportDemoSummary> {
  const org = createSyntheticOrg({ accounts: options.accounts, seed: options.seed });
  const out = createWriteStream(file);
  await once(out, 'open');
  const byKind: Record<DeliveryKind, number> = { event: 0, duplicate: 0, malformed: 0 };
  let records = 0;
  for (const delivery of generateTraffic(org, { deliveries: options.events, seed: options.seed })) {
    if (delivery.data.includes(0x0a)) throw new Error(`demo record ${records + 1} contains a line end and cannot be written as one line`);
    if (!out.write(delivery.data)) await once(out, 'drain');
    if (!out.write('\n')) await once(out, 'drain');
    byKind[delivery.kind]++;
    records++;
  }
  out.end();
  await finished(out);
  return { file, records, byKind };
}
