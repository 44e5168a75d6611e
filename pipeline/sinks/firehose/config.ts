import { z } from 'zod';
import type { Settings } from '../../../schemas/settings.ts';

/** PutRecordBatch's fixed quotas (they cannot be raised). */
export const FirehoseLimits = {
  recordsPerCall: 500,
  bytesPerCall: 4 * 1_048_576,
  bytesPerRecord: 1_000 * 1_024,
} as const;

/**
 * Everything the Firehose archive sink needs.
 *
 * @example
 * { deliveryStream: 'driftwatch-archive', region: 'eu-west-1', recordsPerCall: 500, bytesPerCall: 4194304, bytesPerRecord: 1024000 }
 */
export const FirehoseConfig = z.object({
  deliveryStream: z.string().regex(/^[a-zA-Z0-9_.-]{1,64}$/),
  region: z.string().min(1),
  endpoint: z.url().optional(),
  recordsPerCall: z.number().int().min(1).max(FirehoseLimits.recordsPerCall),
  bytesPerCall: z.number().int().min(1_024).max(FirehoseLimits.bytesPerCall),
  bytesPerRecord: z.number().int().min(1).max(FirehoseLimits.bytesPerRecord),
});
export type FirehoseConfig = z.infer<typeof FirehoseConfig>;

/** The sink's config from the environment settings; null when FIREHOSE_DELIVERY_STREAM is unset (the archive is optional). */
export function firehoseConfigFromSettings(settings: Settings): FirehoseConfig | null {
  if (!settings.FIREHOSE_DELIVERY_STREAM) return null;
  return FirehoseConfig.parse({
    deliveryStream: settings.FIREHOSE_DELIVERY_STREAM,
    region: settings.AWS_REGION,
    ...(settings.FIREHOSE_ENDPOINT ? { endpoint: settings.FIREHOSE_ENDPOINT } : {}),
    recordsPerCall: FirehoseLimits.recordsPerCall,
    bytesPerCall: FirehoseLimits.bytesPerCall,
    bytesPerRecord: FirehoseLimits.bytesPerRecord,
  });
}
